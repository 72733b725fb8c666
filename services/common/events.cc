#include "services/common/events.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "services/common/config.h"
#include "services/common/log_format.h"
#include "services/common/metrics.h"
#include "services/common/mysql_batcher.h"
#include "services/common/proto_util.h"
#include "services/common/service_client.h"
#include "services/common/sql.h"
#include "services/common/status.h"

namespace livecommerce::common {
namespace {

constexpr char kCaller[] = "event-relay";
constexpr int kMaxEventsPerCall = 1000;

}  // namespace

EventOutbox::EventOutbox(std::string producer, std::string table,
                         std::vector<std::string> subscribers)
    : producer_(std::move(producer)),
      table_(std::move(table)),
      subscribers_(std::move(subscribers)) {}

void EventOutbox::Publish(MysqlConnection& c, const std::string& brand_id, const std::string& key,
                          const google::protobuf::Message& payload, absl::Time now) const {
  PublishAll(c, {OutgoingEvent::Of(brand_id, key, payload)}, now);
}

void EventOutbox::PublishAll(MysqlConnection& c, const std::vector<OutgoingEvent>& events,
                             absl::Time now) const {
  std::vector<std::pair<const std::string*, const OutgoingEvent*>> rows;
  for (const std::string& subscriber : subscribers_) {
    for (const OutgoingEvent& e : events) rows.emplace_back(&subscriber, &e);
  }
  ForEachChunk(rows.size(), [&](size_t offset, size_t count) {
    SqlStatement insert(c, absl::StrCat("INSERT INTO ", table_,
                                        " (subscriber, brand_id, event_key, type, payload, "
                                        "occurred_at) VALUES ",
                                        Placeholders(count, 6)));
    for (size_t i = 0; i < count; ++i) {
      const auto& [subscriber, e] = rows[offset + i];
      insert.Bind(*subscriber, e->brand_id, e->key, e->type, SqlBytes{e->payload}, now);
    }
    insert.Execute();
  });
}

struct EventRelay::Pending {
  int64_t id = 0;
  events::v1::Event event;
};

EventRelay::EventRelay(MysqlPool& pool, const EventOutbox& outbox,
                       std::map<std::string, std::string> sinks, const PrincipalCodec& codec,
                       const Clock& clock, Options options)
    : pool_(pool),
      outbox_(outbox),
      sinks_(std::move(sinks)),
      codec_(codec),
      clock_(clock),
      options_(options) {}

EventRelay::~EventRelay() = default;

absl::StatusOr<int> EventRelay::DeliverDue() {
  int delivered = 0;
  for (const std::string& subscriber : outbox_.subscribers()) {
    auto sink = sinks_.find(subscriber);
    if (sink == sinks_.end() || sink->second.empty()) continue;
    absl::StatusOr<int> n = DeliverTo(subscriber, sink->second);
    if (!n.ok()) return n.status();
    delivered += *n;
  }
  absl::Time now = clock_.Now();
  if (now - last_purge_ > absl::Minutes(10)) {
    last_purge_ = now;
    absl::Status purged = pool_.Run([&](MysqlConnection& c) -> absl::Status {
      // Per subscriber, so that the (subscriber, delivered_at, id) index finds the rows.
      for (const std::string& subscriber : outbox_.subscribers()) {
        Sql(c,
            absl::StrCat("DELETE FROM ", outbox_.table(),
                         " WHERE subscriber = ? AND delivered_at IS NOT NULL AND delivered_at < ? "
                         "LIMIT 10000"),
            subscriber, now - options_.retention)
            .Execute();
      }
      return absl::OkStatus();
    });
    if (!purged.ok())
      spdlog::warn("events {}: purge failed: {}", outbox_.producer(), purged.message());
  }
  return delivered;
}

absl::StatusOr<int> EventRelay::DeliverTo(const std::string& subscriber,
                                          const std::string& address) {
  absl::Time now = clock_.Now();
  Backoff& backoff = backoff_[subscriber];
  if (now < backoff.next_try) return 0;  // the subscriber failed lately: not yet
  LC_ASSIGN_OR_RETURN(
      std::vector<Pending> due,
      pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<std::vector<Pending>> {
        return Sql(c,
                   absl::StrCat("SELECT id, brand_id, event_key, type, payload, occurred_at FROM ",
                                outbox_.table(),
                                " WHERE subscriber = ? AND delivered_at IS NULL ORDER BY id "
                                "LIMIT ?"),
                   subscriber, options_.batch)
            .All([&](const SqlRow& row) {
              Pending p;
              p.id = row.Int("id");
              p.event.set_id(p.id);
              p.event.set_producer(outbox_.producer());
              p.event.set_type(row.Str("type"));
              p.event.set_brand_id(row.Str("brand_id"));
              p.event.set_key(row.Str("event_key"));
              ToTimestamp(row.Time("occurred_at"), p.event.mutable_occurred_at());
              p.event.set_payload(row.Bytes("payload"));
              return p;
            });
      }));
  if (due.empty()) return 0;
  auto& stub = stubs_[subscriber];
  if (stub == nullptr) stub = events::v1::EventSink::NewStub(ServiceChannel(address));

  // One call per run of events of one brand (each call carries that brand's principal), in id
  // order; the first refusal stops the pass, and the subscriber is tried again after a backoff
  // (1 s, doubling up to max_backoff). Rows change only when delivered: a subscriber that is down
  // costs one read a backoff, whatever is queued for it.
  std::vector<int64_t> applied;
  absl::Status failure;
  size_t next = 0;
  while (next < due.size() && failure.ok()) {
    const std::string& brand = due[next].event.brand_id();
    events::v1::DeliverEventsRequest request;
    size_t end = next;
    while (end < due.size() && due[end].event.brand_id() == brand) {
      *request.add_events() = due[end].event;
      ++end;
    }
    events::v1::DeliverEventsResponse response;
    auto context = ServiceCallContext(codec_, brand, kCaller, options_.timeout, clock_.Now());
    grpc::Status status = stub->DeliverEvents(context.get(), request, &response);
    applied.insert(applied.end(), response.applied_ids().begin(), response.applied_ids().end());
    if (!status.ok()) {
      failure = FromGrpcStatus(status, subscriber);
    } else if (response.applied_ids_size() < request.events_size()) {
      failure = absl::AbortedError("the subscriber applied only part of the events");
    }
    next = end;
  }
  absl::Time after = clock_.Now();
  if (!applied.empty()) {
    LC_RETURN_IF_ERROR(pool_.Run([&](MysqlConnection& c) -> absl::Status {
      ForEachChunk(applied.size(), [&](size_t offset, size_t count) {
        SqlStatement mark(c, absl::StrCat("UPDATE ", outbox_.table(),
                                          " SET delivered_at = ? WHERE delivered_at IS NULL AND "
                                          "id IN ",
                                          Placeholders(1, count)));
        mark.Bind(after);
        for (size_t i = 0; i < count; ++i) mark.Bind(applied[offset + i]);
        mark.Execute();
      });
      return absl::OkStatus();
    }));
  }
  delivered_ += static_cast<int64_t>(applied.size());
  if (failure.ok()) {
    backoff = Backoff{};
  } else {
    ++failures_;
    backoff.delay = backoff.delay == absl::ZeroDuration()
                        ? absl::Seconds(1)
                        : std::min(backoff.delay * 2, options_.max_backoff);
    backoff.next_try = after + backoff.delay;
    spdlog::warn("events {} -> {}: {} of {} delivered; next try in {}s: {}", outbox_.producer(),
                 subscriber, applied.size(), due.size(), absl::ToInt64Seconds(backoff.delay),
                 failure.message());
  }
  return static_cast<int>(applied.size());
}

absl::StatusOr<absl::Duration> EventRelay::Lag() {
  absl::Time now = clock_.Now();
  return pool_.Run([&](MysqlConnection& c) -> absl::StatusOr<absl::Duration> {
    // The oldest undelivered event of each subscriber is its first by id (one index dive each).
    absl::Duration lag = absl::ZeroDuration();
    for (const std::string& subscriber : outbox_.subscribers()) {
      std::optional<absl::Time> oldest =
          Sql(c,
              absl::StrCat("SELECT occurred_at FROM ", outbox_.table(),
                           " WHERE subscriber = ? AND delivered_at IS NULL ORDER BY id LIMIT 1"),
              subscriber)
              .One([](const SqlRow& row) { return row.Time("occurred_at"); });
      if (oldest.has_value() && *oldest < now) lag = std::max(lag, now - *oldest);
    }
    return lag;
  });
}

void EventRelay::ExportMetrics(ServiceMetrics& metrics) {
  std::string producer = outbox_.producer();
  metrics.AddCollector([this, producer] {
    std::vector<prometheus::MetricFamily> families;
    auto family = [&](const std::string& name, const std::string& help, prometheus::MetricType type,
                      double value) {
      prometheus::MetricFamily f;
      f.name = name;
      f.help = help;
      f.type = type;
      prometheus::ClientMetric m;
      m.label.push_back({"producer", producer});
      if (type == prometheus::MetricType::Counter) {
        m.counter.value = value;
      } else {
        m.gauge.value = value;
      }
      f.metric.push_back(m);
      families.push_back(std::move(f));
    };
    // Read when scraped, not on every pass of the relay.
    absl::StatusOr<absl::Duration> lag = Lag();
    family("lc_event_outbox_lag_seconds", "Age of the oldest undelivered event of the outbox.",
           prometheus::MetricType::Gauge, lag.ok() ? absl::ToDoubleSeconds(*lag) : -1);
    family("lc_events_delivered_total", "Events delivered to subscribers.",
           prometheus::MetricType::Counter, static_cast<double>(delivered_.load()));
    family("lc_event_delivery_failures_total", "Delivery passes that left events to retry.",
           prometheus::MetricType::Counter, static_cast<double>(failures_.load()));
    return families;
  });
}

absl::StatusOr<absl::Duration> LoadEventRelayInterval() {
  return EnvMillis("LC_EVENT_RELAY_INTERVAL_MS", 200, 10, 60000);
}

EventRelayTask::EventRelayTask(EventRelay& relay, absl::Duration period)
    : task_(std::make_unique<PeriodicTask>(period, [&relay] {
        if (absl::StatusOr<int> n = relay.DeliverDue(); !n.ok()) {
          spdlog::warn("event relay: {}", n.status().message());
        }
      })) {}
EventRelayTask::~EventRelayTask() { Stop(); }
void EventRelayTask::Start() { task_->Start(); }
void EventRelayTask::Stop() { task_->Stop(); }

absl::StatusOr<std::unique_ptr<EventPublisher>> EventPublisher::Create(
    const std::string& producer, const std::vector<Subscriber>& subscribers, MysqlPool& pool,
    const PrincipalCodec& codec, const Clock& clock) {
  LC_ASSIGN_OR_RETURN(absl::Duration period, LoadEventRelayInterval());
  std::vector<std::string> names;
  std::map<std::string, std::string> sinks;
  for (const Subscriber& s : subscribers) {
    names.push_back(s.name);
    std::string variable = absl::StrCat("LC_", absl::AsciiStrToUpper(s.name), "_ADDR");
    sinks[s.name] = EnvString(variable, s.default_address);
  }
  EventOutbox outbox(producer, absl::StrCat(producer, "_event_outbox"), std::move(names));
  return std::unique_ptr<EventPublisher>(
      new EventPublisher(std::move(outbox), pool, std::move(sinks), codec, clock, period));
}

EventPublisher::EventPublisher(EventOutbox outbox, MysqlPool& pool,
                               std::map<std::string, std::string> sinks,
                               const PrincipalCodec& codec, const Clock& clock,
                               absl::Duration period)
    : outbox_(std::move(outbox)),
      relay_(pool, outbox_, std::move(sinks), codec, clock),
      task_(relay_, period) {}

EventConsumer::EventConsumer(MysqlPool& pool, std::string consumed_table, const Clock& clock)
    : pool_(pool), consumed_table_(std::move(consumed_table)), clock_(clock) {}

absl::Status EventConsumer::ApplyOn(MysqlConnection& c,
                                    const std::vector<const events::v1::Event*>& events) {
  for (const events::v1::Event* event : events) {
    if (event->producer().empty() || event->id() <= 0) {
      return InvalidField("events.id", "an event needs its producer and a positive id");
    }
  }
  // The claim row: a second delivery of an event finds it (waiting for the first's commit when
  // they race) and does nothing. Claims go in one statement per producer run.
  std::vector<bool> claimed(events.size(), false);
  size_t start = 0;
  while (start < events.size()) {
    size_t end = start;
    while (end < events.size() && events[end]->producer() == events[start]->producer()) ++end;
    std::vector<int64_t> ids;
    SqlStatement seen(c, absl::StrCat("SELECT event_id FROM ", consumed_table_,
                                      " WHERE producer = ? AND event_id IN ",
                                      Placeholders(1, end - start), " FOR UPDATE"));
    seen.Bind(events[start]->producer());
    for (size_t i = start; i < end; ++i) seen.Bind(events[i]->id());
    std::vector<int64_t> before = seen.All([](const SqlRow& row) { return row.Int("event_id"); });
    std::sort(before.begin(), before.end());
    absl::Time now = clock_.Now();
    std::vector<size_t> fresh;
    for (size_t i = start; i < end; ++i) {
      bool dup = std::binary_search(before.begin(), before.end(), events[i]->id());
      for (size_t j : fresh) dup = dup || events[j]->id() == events[i]->id();
      if (!dup) fresh.push_back(i);
    }
    if (!fresh.empty()) {
      SqlStatement claim(c, absl::StrCat("INSERT INTO ", consumed_table_,
                                         " (producer, event_id, type, applied_at) VALUES ",
                                         Placeholders(fresh.size(), 4)));
      for (size_t i : fresh) {
        claim.Bind(events[i]->producer(), events[i]->id(), events[i]->type(), now);
        claimed[i] = true;
      }
      claim.Execute();
    }
    start = end;
  }
  for (size_t i = 0; i < events.size(); ++i) {
    if (!claimed[i]) continue;
    auto batch = batch_handlers_.find(events[i]->type());
    if (batch != batch_handlers_.end()) {
      std::vector<const events::v1::Event*> run;
      size_t j = i;
      for (; j < events.size() && events[j]->type() == events[i]->type(); ++j) {
        if (claimed[j]) run.push_back(events[j]);
      }
      LC_RETURN_IF_ERROR(batch->second(c, run));
      i = j - 1;
      continue;
    }
    auto handler = handlers_.find(events[i]->type());
    if (handler == handlers_.end()) {
      spdlog::warn("events: {} {} of type {} is not handled here; skipped", events[i]->producer(),
                   events[i]->id(), events[i]->type());
      continue;
    }
    LC_RETURN_IF_ERROR(handler->second(c, *events[i]));
  }
  return absl::OkStatus();
}

absl::Status EventConsumer::Apply(const events::v1::Event& event) {
  return pool_.InTransaction(
      [&](MysqlConnection& c) -> absl::Status { return ApplyOn(c, {&event}); });
}

EventConsumer::BatchResult EventConsumer::ApplyAll(
    const std::vector<const events::v1::Event*>& events) {
  BatchResult result;
  if (events.empty()) return result;
  absl::Status all =
      pool_.InTransaction([&](MysqlConnection& c) -> absl::Status { return ApplyOn(c, events); });
  if (all.ok()) {
    result.applied = static_cast<int>(events.size());
    return result;
  }
  // Something in the batch could not apply: one at a time, to apply what comes before it.
  for (const events::v1::Event* event : events) {
    absl::Status one = Apply(*event);
    if (!one.ok()) {
      result.failure = one;
      return result;
    }
    ++result.applied;
  }
  return result;
}

grpc::Status EventSinkService::DeliverEvents(grpc::ServerContext* context,
                                             const events::v1::DeliverEventsRequest* request,
                                             events::v1::DeliverEventsResponse* response) {
  return frame_.Run(*context, kServiceOnly, [&](const Principal& caller) -> absl::Status {
    if (request->events_size() > kMaxEventsPerCall) {
      return InvalidField("events", absl::StrCat("at most ", kMaxEventsPerCall, " per call"));
    }
    std::vector<const events::v1::Event*> events;
    for (const events::v1::Event& event : request->events()) {
      if (event.brand_id() != caller.brand_id) {
        return absl::PermissionDeniedError("events.brand_id: caller belongs to another brand");
      }
      events.push_back(&event);
    }
    EventConsumer::BatchResult result = consumer_.ApplyAll(events);
    for (int i = 0; i < result.applied; ++i) response->add_applied_ids(events[i]->id());
    if (result.applied == 0) return result.failure;
    // The caller learns from the ids which to send again; the reason stays in this log.
    if (!result.failure.ok()) {
      spdlog::warn("events: {} of {} applied; the next, {} {}, failed: {}", result.applied,
                   events.size(), events[result.applied]->producer(), events[result.applied]->id(),
                   result.failure.message());
    }
    return absl::OkStatus();
  });
}

}  // namespace livecommerce::common
