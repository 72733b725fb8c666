// A seeded simulation of the commission ledger: random payments, replayed payments, partial and
// full refunds, refused over-refunds, replayed refunds, settlement runs, refunds after settlement
// (receivables) and new versions of the brand rule, with injected crashes, against the real
// attribution service and MariaDB. After every step the real tables are checked against a model
// kept here. A failure names its seed and step; LC_LEDGER_SEED=<n> (and LC_LEDGER_STEPS=<k>)
// replays one seed.
//
// Simulated crashes (no processes are killed):
//  - a payment or a refund delivered by 2-4 concurrent callers at once (a sender that timed out and
//    retried while its first delivery was still in flight); a caller that failed redelivers;
//  - a restart: the gRPC server, the service and the store are destroyed and recreated over the
//    same database between two steps.
#include <cppconn/prepared_statement.h>
#include <cppconn/resultset.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "services/attribution/domain/commission.h"
#include "tests/integration/attribution/attribution_fixture.h"

namespace livecommerce::attribution {
namespace {

struct SimRefund {
  std::string id;
  int64_t fen = 0;
  bool after_settlement = false;
};

struct SimOrder {
  v1::PaidOrderEvent event;
  int64_t amount = 0;
  absl::Time settle_at;
  int32_t rule_version = 0;
  std::vector<v1::Recipient> recipients;  // the rule's lines this order has, in rule order
  std::vector<int32_t> basis_points;
  std::vector<int64_t> shares;  // the expected sale entries
  std::vector<SimRefund> refunds;
  int64_t refunded = 0;
};

struct SimEntry {
  int64_t id = 0;
  int kind = 0;
  std::string refund_id;
  int64_t reverses = 0;
  int recipient = 0;
  int rule_version = 0;
  int64_t amount = 0;
};

int64_t FloorMulDiv(int64_t a, int64_t b, int64_t c) {
  return static_cast<int64_t>(static_cast<__int128>(a) * b / c);
}

class LedgerSimulationTest : public AttributionServiceTest {
 protected:
  // Empties the tables and starts a fresh service, as for a new test.
  void Reset() {
    server_.reset();
    service_.reset();
    store_.reset();
    mysql_.reset();
    clock_.Set(kStart);
    SetUp();
  }

  // A restart between two steps: nothing survives but the database.
  void Restart() {
    server_.reset();
    service_.reset();
    store_ = std::make_unique<MysqlAttributionStore>(*mysql_);
    StartService();
  }

  // A new version of the brand rule in force from now on; returns its version (0 on failure).
  int32_t NewBrandRule(const std::vector<std::pair<v1::Recipient, int32_t>>& lines) {
    v1::CreateCommissionRuleRequest request;
    request.set_scope(v1::RULE_SCOPE_BRAND);
    common::ToTimestamp(clock_.Now(), request.mutable_effective_from());
    for (auto [recipient, bp] : lines) {
      v1::SplitLine* line = request.add_lines();
      line->set_recipient(recipient);
      line->set_basis_points(bp);
    }
    v1::CreateCommissionRuleResponse response;
    grpc::Status s =
        stub_->CreateCommissionRule(As(Role::kFinance, "fin-1").get(), request, &response);
    return s.ok() ? response.rule().version() : 0;
  }

  grpc::Status RefundAt(const SimRefund& r, const std::string& order_id,
                        v1::RecordRefundResponse* out) {
    return Refund(order_id, r.id, r.fen, out);
  }

  std::vector<SimEntry> Entries() {
    std::vector<SimEntry> out;
    auto s = mysql_->Run([&](common::MysqlConnection& c) {
      sql::PreparedStatement& q = c.Prepare(
          "SELECT id, order_id, kind, refund_id, COALESCE(reverses_entry_id, 0), "
          "recipient, rule_version, amount_fen FROM commission_entries ORDER BY id");
      std::unique_ptr<sql::ResultSet> rs(q.executeQuery());
      while (rs->next()) {
        SimEntry e{rs->getInt64(1), rs->getInt(3), rs->getString(4), rs->getInt64(5),
                   rs->getInt(6),   rs->getInt(7), rs->getInt64(8)};
        entry_orders_[e.id] = rs->getString(2);
        out.push_back(std::move(e));
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
    return out;
  }

  // order_id -> amount; (order_id, refund_id) -> (amount, after_settlement).
  void Rows(std::map<std::string, int64_t>& orders,
            std::map<std::pair<std::string, std::string>, std::pair<int64_t, bool>>& refunds) {
    auto s = mysql_->Run([&](common::MysqlConnection& c) {
      std::unique_ptr<sql::ResultSet> rs(
          c.Prepare("SELECT order_id, amount_fen FROM attributed_orders").executeQuery());
      while (rs->next()) {
        if (!orders.emplace(rs->getString(1), rs->getInt64(2)).second)
          orders[rs->getString(1)] = -1;
      }
      std::unique_ptr<sql::ResultSet> rr(
          c.Prepare("SELECT order_id, refund_id, amount_fen, after_settlement FROM "
                    "attributed_refunds")
              .executeQuery());
      while (rr->next()) {
        refunds[{rr->getString(1), rr->getString(2)}] = {rr->getInt64(3), rr->getInt(4) != 0};
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
  }

  // Every invariant, on the real tables; the first violation found ("" when none).
  std::string Check(const std::map<std::string, SimOrder>& model) {
    std::map<std::string, int64_t> orders;
    std::map<std::pair<std::string, std::string>, std::pair<int64_t, bool>> refunds;
    Rows(orders, refunds);
    if (orders.size() != model.size()) {
      return absl::StrCat("attributed_orders has ", orders.size(), " rows, expected ",
                          model.size());
    }
    size_t model_refunds = 0;
    for (const auto& [id, o] : model) model_refunds += o.refunds.size();
    if (refunds.size() != model_refunds) {
      return absl::StrCat("attributed_refunds has ", refunds.size(), " rows, expected ",
                          model_refunds);
    }
    std::map<std::string, std::vector<SimEntry>> by_order;
    for (SimEntry& e : Entries()) by_order[entry_orders_[e.id]].push_back(e);
    if (by_order.size() > model.size()) return "entries of an order nobody paid";
    for (const auto& [id, o] : model) {
      std::string where = absl::StrCat("order ", id, ": ");
      auto row = orders.find(id);
      if (row == orders.end() || row->second != o.amount) {
        return absl::StrCat(where, "attributed amount differs from ", o.amount);
      }
      int64_t refunded = 0;
      for (const SimRefund& r : o.refunds) {
        auto it = refunds.find({id, r.id});
        if (it == refunds.end() || it->second.first != r.fen) {
          return absl::StrCat(where, "refund ", r.id, " missing or of another amount");
        }
        if (it->second.second != r.after_settlement) {
          return absl::StrCat(where, "refund ", r.id, " after_settlement=", it->second.second,
                              ", expected ", r.after_settlement);
        }
        refunded += it->second.first;
      }
      if (refunded > o.amount) {
        return absl::StrCat(where, "refunded ", refunded, " > paid ", o.amount);
      }
      // The sale entries: one per line, unchanged since the payment, summing to the pool.
      const std::vector<SimEntry>& entries = by_order[id];
      std::vector<const SimEntry*> sales;
      std::map<int64_t, size_t> sale_index;
      for (const SimEntry& e : entries) {
        if (e.kind == v1::ENTRY_KIND_SALE) {
          sale_index[e.id] = sales.size();
          sales.push_back(&e);
        }
      }
      if (sales.size() != o.shares.size()) {
        return absl::StrCat(where, sales.size(), " sale entries, expected ", o.shares.size());
      }
      int64_t pool = 0, total_bp = 0;
      for (size_t i = 0; i < sales.size(); ++i) {
        if (sales[i]->amount != o.shares[i] || sales[i]->recipient != o.recipients[i] ||
            sales[i]->rule_version != o.rule_version) {
          return absl::StrCat(where, "sale entry ", i, " is ", sales[i]->amount, " to ",
                              sales[i]->recipient, " v", sales[i]->rule_version, ", expected ",
                              o.shares[i], " to ", o.recipients[i], " v", o.rule_version);
        }
        pool += sales[i]->amount;
        total_bp += o.basis_points[i];
      }
      if (pool != FloorMulDiv(o.amount, total_bp, kWholeBasisPoints)) {
        return absl::StrCat(where, "sale entries sum to ", pool, ", the pool of ", o.amount, " at ",
                            total_bp, " bp is ",
                            FloorMulDiv(o.amount, total_bp, kWholeBasisPoints));
      }
      // Reversals: one per sale entry per refund, of the right kind, never positive.
      std::map<std::string, int> per_refund;
      std::vector<int64_t> reversed(sales.size(), 0);
      for (const SimEntry& e : entries) {
        if (e.kind == v1::ENTRY_KIND_SALE) continue;
        auto sale = sale_index.find(e.reverses);
        if (sale == sale_index.end()) {
          return absl::StrCat(where, "entry ", e.id, " reverses no sale entry of this order");
        }
        const SimRefund* refund = nullptr;
        for (const SimRefund& r : o.refunds) {
          if (r.id == e.refund_id) refund = &r;
        }
        if (refund == nullptr) return absl::StrCat(where, "entry for unknown refund ", e.refund_id);
        int want = refund->after_settlement ? v1::ENTRY_KIND_RECEIVABLE : v1::ENTRY_KIND_REVERSAL;
        if (e.kind != want) {
          return absl::StrCat(where, "refund ", e.refund_id, " entry kind ", e.kind, ", expected ",
                              want);
        }
        if (e.amount > 0) return absl::StrCat(where, "positive reversal ", e.amount);
        ++per_refund[e.refund_id];
        reversed[sale->second] += e.amount;
      }
      for (const SimRefund& r : o.refunds) {
        if (per_refund[r.id] != static_cast<int>(sales.size())) {
          return absl::StrCat(where, "refund ", r.id, " has ", per_refund[r.id],
                              " entries, expected ", sales.size());
        }
      }
      if (per_refund.size() != o.refunds.size()) return absl::StrCat(where, "unknown refund");
      // Per recipient: reversed floor(share x refunded / paid) so far; never more than the entry;
      // the net never exceeds its share of the net paid (rounded up to the fen).
      for (size_t i = 0; i < sales.size(); ++i) {
        int64_t share = o.shares[i];
        int64_t net = share + reversed[i];
        if (-reversed[i] > share) {
          return absl::StrCat(where, "line ", i, " reversed ", -reversed[i], " > entry ", share);
        }
        if (-reversed[i] != FloorMulDiv(share, o.refunded, o.amount)) {
          return absl::StrCat(where, "line ", i, " reversed ", -reversed[i], ", expected ",
                              FloorMulDiv(share, o.refunded, o.amount), " (entry ", share,
                              ", refunded ", o.refunded, " of ", o.amount, ")");
        }
        __int128 lhs = static_cast<__int128>(net) * o.amount;
        __int128 bound = static_cast<__int128>(share) * (o.amount - o.refunded) + o.amount - 1;
        if (net < 0 || lhs > bound) {
          return absl::StrCat(where, "line ", i, " net ", net, " exceeds its share of net paid ",
                              o.amount - o.refunded, " (entry ", share, " of ", o.amount, ")");
        }
        if (o.refunded == o.amount && net != 0) {
          return absl::StrCat(where, "fully refunded but line ", i, " nets ", net);
        }
      }
    }
    return "";
  }

  // Runs one seed; returns the number of steps run and appends the violation, if any.
  int RunSeed(uint64_t seed, int steps, std::vector<std::string>& violations);

  std::map<int64_t, std::string> entry_orders_;
  std::map<std::string, int> actions_;  // steps run, by kind
  int aborted_ = 0;  // concurrent deliveries refused as a lost race (and redelivered)
};

int LedgerSimulationTest::RunSeed(uint64_t seed, int steps, std::vector<std::string>& violations) {
  Reset();
  entry_orders_.clear();
  std::mt19937_64 rng(seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  std::string alice = NewAssociate(NewStore("Shanghai IFC"), "Alice");
  std::string link = NewLink(alice);
  if (!Open("bound", link).ok()) {
    violations.push_back(absl::StrCat("seed=", seed, " step=0 setup: could not bind a viewer"));
    return 0;
  }
  std::vector<std::pair<v1::Recipient, int32_t>> rule = {{v1::RECIPIENT_ASSOCIATE, 500},
                                                         {v1::RECIPIENT_STORE, 200},
                                                         {v1::RECIPIENT_ECOMMERCE_TEAM, 100},
                                                         {v1::RECIPIENT_CRM_TEAM, 50}};
  int32_t version = NewBrandRule(rule);
  absl::Time settled_through = absl::FromUnixSeconds(0);
  std::map<std::string, SimOrder> model;
  std::vector<std::string> order_ids;
  int next_order = 0, next_refund = 0;

  auto fail = [&](int step, const std::string& what) {
    violations.push_back(absl::StrCat("seed=", seed, " step=", step, " ", what));
  };
  // A payment's event; its split lines and shares are filled in once the service has said who the
  // order's associate is (attribution is not what this test checks).
  auto new_order = [&]() {
    SimOrder o;
    bool bound = uniform(0, 9) < 8;  // otherwise a buyer no associate touched: only the teams
    o.amount = uniform(0, 4) == 0 ? uniform(1, 200) : uniform(1, 900000000);
    std::string id = absl::StrCat("o", next_order++);
    if (bound && !Open("bound", link).ok()) fail(0, "could not open the link");
    o.event = Event(id, bound ? "bound" : absl::StrCat("stranger-", id), o.amount, clock_.Now());
    o.settle_at = clock_.Now() + options_.refund_window;
    o.rule_version = version;
    return o;
  };
  auto split = [&](SimOrder& o, const v1::AttributedOrder& attributed) {
    for (auto [recipient, bp] : rule) {
      if ((recipient == v1::RECIPIENT_ASSOCIATE && attributed.associate_id().empty()) ||
          (recipient == v1::RECIPIENT_STORE && attributed.store_id().empty())) {
        continue;
      }
      o.recipients.push_back(recipient);
      o.basis_points.push_back(bp);
    }
    o.shares = SplitByBasisPoints(o.amount, o.basis_points);
  };
  // An order with something left to refund, or nullptr.
  auto refundable = [&]() -> SimOrder* {
    std::vector<SimOrder*> open;
    for (auto& [id, o] : model) {
      if (o.refunded < o.amount) open.push_back(&o);
    }
    return open.empty() ? nullptr : open[uniform(0, open.size() - 1)];
  };
  // `callers` deliver at once; a caller that failed would redeliver. Exactly one delivery may be
  // recorded as new (a new event) or none (a replay); failures other than ABORTED are violations.
  auto deliveries = [&](int step, const std::string& what, int callers, bool expect_new,
                        const std::function<grpc::Status(bool*)>& deliver) {
    std::atomic<int> fresh{0};
    std::mutex mu;
    std::vector<std::string> errors;
    std::vector<std::thread> threads;
    for (int t = 0; t < callers; ++t) {
      threads.emplace_back([&] {
        bool replayed = false;
        grpc::Status s = deliver(&replayed);
        if (s.ok() && !replayed) ++fresh;
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (s.error_code() == grpc::StatusCode::ABORTED)
            ++aborted_;
          else
            errors.push_back(absl::StrCat(s.error_code(), " ", s.error_message()));
        }
      });
    }
    for (std::thread& t : threads) t.join();
    bool replayed = false;
    grpc::Status again = deliver(&replayed);
    bool landed = fresh.load() == 1 || (fresh.load() == 0 && again.ok() && !replayed);
    if (!errors.empty()) {
      fail(step, absl::StrCat(what, " failed: ", errors.front()));
    } else if (expect_new ? !landed : fresh.load() != 0) {
      fail(step, absl::StrCat(what, " recorded ", fresh.load(), " times by ", callers, " callers"));
    } else if (!again.ok() || (fresh.load() == 1 && !replayed)) {
      fail(step, absl::StrCat(what, " redelivered: ", again.error_message()));
    }
  };
  auto deliver_refund = [&](int step, SimOrder& o, int64_t fen, int callers) {
    SimRefund r{absl::StrCat("rf-", next_refund++), fen, o.settle_at < settled_through};
    if (r.after_settlement) ++actions_["(refund after settlement)"];
    int64_t refunded_after = o.refunded + fen;
    std::mutex mu;
    std::string wrong;
    deliveries(step, absl::StrCat("refund ", r.id), callers, true, [&](bool* replayed) {
      v1::RecordRefundResponse response;
      grpc::Status s = RefundAt(r, o.event.order_id(), &response);
      *replayed = response.replayed();
      if (s.ok() && response.refunded().amount_fen() != refunded_after) {
        std::lock_guard<std::mutex> lock(mu);
        wrong = absl::StrCat("refund ", r.id, " says refunded ", response.refunded().amount_fen(),
                             ", expected ", refunded_after);
      }
      return s;
    });
    if (!wrong.empty()) fail(step, wrong);
    o.refunds.push_back(r);
    o.refunded = refunded_after;
  };
  auto deliver_payment = [&](int step, SimOrder& o, int callers, bool expect_new) {
    std::mutex mu;
    v1::AttributedOrder attributed;
    std::vector<std::vector<int64_t>> seen;
    deliveries(step, absl::StrCat("payment ", o.event.order_id()), callers, expect_new,
               [&](bool* replayed) {
                 v1::RecordPaidOrderResponse response;
                 grpc::Status s = Pay(o.event, &response);
                 *replayed = response.replayed();
                 if (s.ok()) {
                   std::vector<int64_t> amounts;
                   for (const v1::LedgerEntry& e : response.entries()) {
                     amounts.push_back(e.amount().amount_fen());
                   }
                   std::lock_guard<std::mutex> lock(mu);
                   attributed = response.order();
                   seen.push_back(amounts);
                 }
                 return s;
               });
    if (o.shares.empty()) split(o, attributed);
    for (const std::vector<int64_t>& amounts : seen) {
      if (amounts != o.shares) {
        fail(step, absl::StrCat("payment ", o.event.order_id(), " answered ", amounts.size(),
                                " entries differing from the expected split"));
        break;
      }
    }
  };

  int step = 1;
  for (; step <= steps && violations.empty(); ++step) {
    clock_.Advance(absl::Seconds(uniform(1, 3600)));
    int64_t pick = uniform(0, 99);
    std::string action;
    if (pick < 30 || model.empty()) {
      action = "pay";
      SimOrder o = new_order();
      std::string id = o.event.order_id();
      model[id] = o;
      order_ids.push_back(id);
      deliver_payment(step, model[id], 1, true);
    } else if (pick < 38) {
      action = "replay payment";
      deliver_payment(step, model[order_ids[uniform(0, order_ids.size() - 1)]],
                      static_cast<int>(uniform(1, 2)), false);
    } else if (pick < 53) {
      action = "partial refund";
      if (SimOrder* o = refundable()) {
        int64_t left = o->amount - o->refunded;
        deliver_refund(step, *o, left > 1 ? uniform(1, left - 1) : left, 1);
      }
    } else if (pick < 61) {
      action = "full refund";
      if (SimOrder* o = refundable()) deliver_refund(step, *o, o->amount - o->refunded, 1);
    } else if (pick < 65) {
      action = "over-refund";
      SimOrder& o = model[order_ids[uniform(0, order_ids.size() - 1)]];
      v1::RecordRefundResponse response;
      grpc::Status s = Refund(o.event.order_id(), absl::StrCat("rf-", next_refund++),
                              o.amount - o.refunded + uniform(1, 1000), &response);
      if (s.error_code() != grpc::StatusCode::FAILED_PRECONDITION) {
        fail(step, absl::StrCat("a refund beyond what is left was not refused: ", s.error_code(),
                                " ", s.error_message()));
      }
    } else if (pick < 72) {
      action = "replay refund";
      std::vector<std::pair<SimOrder*, const SimRefund*>> done;
      for (auto& [id, o] : model) {
        for (const SimRefund& r : o.refunds) done.emplace_back(&o, &r);
      }
      if (!done.empty()) {
        auto [o, r] = done[uniform(0, done.size() - 1)];
        v1::RecordRefundResponse response;
        grpc::Status s = RefundAt(*r, o->event.order_id(), &response);
        if (!s.ok() || !response.replayed() || response.refunded().amount_fen() != o->refunded) {
          fail(step, absl::StrCat("replayed refund ", r->id, ": ", s.error_message()));
        }
      }
    } else if (pick < 81) {
      action = "settle";
      clock_.Advance(absl::Hours(uniform(1, 24 * 10)));
      absl::StatusOr<absl::Time> settled = service_->SettleOnce();
      if (!settled.ok()) {
        fail(step, absl::StrCat("settlement: ", settled.status().ToString()));
      } else {
        if (*settled < settled_through) fail(step, "settlement mark went back");
        settled_through = *settled;
      }
    } else if (pick < 86) {
      action = "rule change";
      for (auto& [recipient, bp] : rule) bp = static_cast<int32_t>(uniform(1, 2000));
      int32_t next = NewBrandRule(rule);
      if (next != version + 1) {
        fail(step, absl::StrCat("new rule version ", next, ", expected ", version + 1));
      }
      version = next;
    } else if (pick < 91) {
      action = "crash: concurrent payment";
      SimOrder o = new_order();
      std::string id = o.event.order_id();
      model[id] = o;
      order_ids.push_back(id);
      deliver_payment(step, model[id], static_cast<int>(uniform(2, 4)), true);
    } else if (pick < 96) {
      action = "crash: concurrent refund";
      if (SimOrder* o = refundable()) {
        int64_t left = o->amount - o->refunded;
        deliver_refund(step, *o, uniform(0, 1) == 0 ? left : uniform(1, left),
                       static_cast<int>(uniform(2, 4)));
      }
    } else {
      action = "crash: restart";
      Restart();
    }
    ++actions_[action];
    if (!violations.empty()) {
      violations.back() += absl::StrCat(" (", action, ")");
      break;
    }
    std::string broken = Check(model);
    if (!broken.empty()) fail(step, absl::StrCat(broken, " (after ", action, ")"));
  }
  return step - 1;
}

TEST_F(LedgerSimulationTest, RandomLedgerHistoriesKeepEveryInvariant) {
  std::vector<uint64_t> seeds;
  int steps = 150;
  if (const char* one = std::getenv("LC_LEDGER_SEED"); one != nullptr && *one != '\0') {
    seeds.push_back(std::strtoull(one, nullptr, 10));
  } else {
    for (uint64_t s = 1; s <= 20; ++s) seeds.push_back(s);
  }
  if (const char* n = std::getenv("LC_LEDGER_STEPS"); n != nullptr && *n != '\0') {
    steps = std::atoi(n);
  }
  int total_steps = 0;
  std::vector<std::string> violations;
  for (uint64_t seed : seeds) {
    std::vector<std::string> found;
    total_steps += RunSeed(seed, steps, found);
    for (const std::string& v : found) ADD_FAILURE() << v;
    violations.insert(violations.end(), found.begin(), found.end());
  }
  std::printf("RESULT ledger_simulation seeds=%zu steps=%d violations=%zu aborted=%d\n",
              seeds.size(), total_steps, violations.size(), aborted_);
  for (const auto& [action, n] : actions_) std::printf("  %s: %d\n", action.c_str(), n);
  EXPECT_TRUE(violations.empty());
}

}  // namespace
}  // namespace livecommerce::attribution
