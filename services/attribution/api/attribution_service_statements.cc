// AttributionServiceImpl: ledger entries, statements and their CSV export, settlement.
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "services/attribution/api/attribution_service.h"
#include "services/attribution/api/request_checks.h"
#include "services/common/crypto.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace livecommerce::attribution {

using common::InvalidField;
using common::Principal;
using common::Role;
using request_checks::IdOf;
using request_checks::Page;
using request_checks::ValidateExternalId;

namespace {

constexpr int kMaxStatementPage = 10000;

std::string EncodeLineToken(const LineCursor& c) {
  return common::Base64UrlEncode(absl::StrCat("s1:", absl::ToUnixMicros(c.booked_at), ":", c.id));
}

absl::StatusOr<std::optional<LineCursor>> DecodeLineToken(const std::string& token) {
  if (token.empty()) return std::optional<LineCursor>();
  std::string raw;
  int64_t micros = 0, id = 0;
  if (token.size() > 100 || !common::Base64UrlDecode(token, &raw)) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  std::vector<std::string> parts = absl::StrSplit(raw, ':');
  if (parts.size() != 3 || parts[0] != "s1" || !absl::SimpleAtoi(parts[1], &micros) ||
      !absl::SimpleAtoi(parts[2], &id)) {
    return InvalidField("page_token", "is not a token this service issued");
  }
  return std::optional<LineCursor>(LineCursor{absl::FromUnixMicros(micros), id});
}

std::string CsvField(const std::string& value) {
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char ch : value) {
    if (ch == '"') out += '"';
    out += ch;
  }
  return out + "\"";
}

std::string CsvTime(const google::protobuf::Timestamp& ts) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", common::FromTimestamp(ts), absl::UTCTimeZone());
}

// Checks a ledger filter, and narrows it to the caller when the caller is an associate (the
// frame admits associates and finance only).
absl::Status NarrowFilter(const Principal& caller, v1::LedgerFilter& filter) {
  if (caller.role == Role::kAssociate) {
    if (!filter.associate_id().empty() && filter.associate_id() != caller.subject) {
      return absl::PermissionDeniedError(
          "filter.associate_id: an associate reads only its own commissions");
    }
    if (!filter.store_id().empty() || !filter.recipient_id().empty()) {
      return absl::PermissionDeniedError("filter: an associate reads only its own commissions");
    }
    filter.set_associate_id(caller.subject);
    return absl::OkStatus();
  }
  if (!filter.associate_id().empty()) {
    LC_RETURN_IF_ERROR(common::ParseId("filter.associate_id", filter.associate_id()).status());
  }
  if (!filter.store_id().empty()) {
    LC_RETURN_IF_ERROR(common::ParseId("filter.store_id", filter.store_id()).status());
  }
  if (!v1::Recipient_IsValid(filter.recipient())) {
    return InvalidField("filter.recipient", "is not a recipient");
  }
  return common::ValidateText("filter.recipient_id", filter.recipient_id(), 128, false);
}

}  // namespace

absl::Status AttributionServiceImpl::KnownFilter(const Principal& caller,
                                                 const v1::LedgerFilter& filter) const {
  if (caller.role == Role::kAssociate) return absl::OkStatus();  // narrowed to itself
  if (!filter.associate_id().empty()) {
    LC_RETURN_IF_ERROR(
        KnownAssociate(caller.brand_id, "filter.associate_id", IdOf(filter.associate_id())));
  }
  if (!filter.store_id().empty()) {
    LC_RETURN_IF_ERROR(KnownStore(caller.brand_id, "filter.store_id", IdOf(filter.store_id())));
  }
  if (!filter.recipient_id().empty()) {
    switch (filter.recipient()) {
      case v1::RECIPIENT_ASSOCIATE:
      case v1::RECIPIENT_HOST_ASSOCIATE:
      case v1::RECIPIENT_INVITING_ASSOCIATE: {
        LC_ASSIGN_OR_RETURN(int64_t id,
                            common::ParseId("filter.recipient_id", filter.recipient_id()));
        return KnownAssociate(caller.brand_id, "filter.recipient_id", id);
      }
      case v1::RECIPIENT_STORE: {
        LC_ASSIGN_OR_RETURN(int64_t id,
                            common::ParseId("filter.recipient_id", filter.recipient_id()));
        return KnownStore(caller.brand_id, "filter.recipient_id", id);
      }
      default:
        break;  // a named party is free text, not a reference
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<AttributionServiceImpl::StatementPeriod> AttributionServiceImpl::StatementRequest(
    const Principal& caller, const google::protobuf::Timestamp& start,
    const google::protobuf::Timestamp& end, v1::StatementGrouping grouping,
    v1::LedgerFilter& filter) const {
  LC_RETURN_IF_ERROR(NarrowFilter(caller, filter));
  if (!v1::StatementGrouping_IsValid(grouping)) {
    return InvalidField("grouping", "is not a statement grouping");
  }
  StatementPeriod period;
  LC_ASSIGN_OR_RETURN(period.start, common::ParseTimestamp("period_start", start));
  LC_ASSIGN_OR_RETURN(period.end, common::ParseTimestamp("period_end", end));
  if (period.end <= period.start) return InvalidField("period_end", "must be after period_start");
  if (period.end - period.start > absl::Hours(24 * 400)) {
    return InvalidField("period_end", "the period must be at most 400 days");
  }
  LC_RETURN_IF_ERROR(KnownFilter(caller, filter));
  return period;
}

grpc::Status AttributionServiceImpl::ListCommissionEntries(
    grpc::ServerContext* context, const v1::ListCommissionEntriesRequest* request,
    v1::ListCommissionEntriesResponse* response) {
  return frame_.Run(
      *context, request_checks::kSelfOrFinance, [&](const Principal& caller) -> absl::Status {
        v1::LedgerFilter filter = request->filter();
        LC_RETURN_IF_ERROR(NarrowFilter(caller, filter));
        LC_RETURN_IF_ERROR(KnownFilter(caller, filter));
        LC_RETURN_IF_ERROR(ValidateExternalId("order_id", request->order_id(), false));
        LC_ASSIGN_OR_RETURN(common::PageRequest page, Page(*request));
        LC_ASSIGN_OR_RETURN(std::vector<v1::LedgerEntry> entries,
                            store_.ListEntries(caller.brand_id, filter, request->order_id(),
                                               page.after, page.fetch()));
        if (common::TrimPage(entries, page.limit)) {
          response->set_next_page_token(common::EncodePageToken(IdOf(entries.back().id())));
        }
        for (v1::LedgerEntry& e : entries) *response->add_entries() = std::move(e);
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::GetStatement(grpc::ServerContext* context,
                                                  const v1::GetStatementRequest* request,
                                                  v1::GetStatementResponse* response) {
  return frame_.Run(
      *context, request_checks::kSelfOrFinance, [&](const Principal& caller) -> absl::Status {
        v1::LedgerFilter filter = request->filter();
        LC_ASSIGN_OR_RETURN(StatementPeriod period,
                            StatementRequest(caller, request->period_start(), request->period_end(),
                                             request->grouping(), filter));
        LC_ASSIGN_OR_RETURN(int limit,
                            common::PageSize(request->page_size(), 100, kMaxStatementPage));
        LC_ASSIGN_OR_RETURN(std::optional<LineCursor> after,
                            DecodeLineToken(request->page_token()));
        v1::Statement* st = response->mutable_statement();
        if (!after.has_value()) {
          LC_ASSIGN_OR_RETURN(*st, store_.StatementTotals(caller.brand_id, period.start, period.end,
                                                          request->grouping(), filter));
        }
        st->set_grouping(request->grouping() == v1::STATEMENT_GROUPING_UNSPECIFIED
                             ? v1::STATEMENT_GROUPING_RECIPIENT
                             : request->grouping());
        *st->mutable_period_start() = request->period_start();
        *st->mutable_period_end() = request->period_end();
        LC_ASSIGN_OR_RETURN(std::vector<StatementLine> lines,
                            store_.StatementLines(caller.brand_id, period.start, period.end,
                                                  request->grouping(), filter, after, limit + 1));
        if (common::TrimPage(lines, limit)) {
          st->set_next_page_token(EncodeLineToken(lines.back().cursor));
        }
        for (StatementLine& line : lines) *st->add_lines() = std::move(line.entry);
        return absl::OkStatus();
      });
}

grpc::Status AttributionServiceImpl::ExportStatementCsv(
    grpc::ServerContext* context, const v1::ExportStatementCsvRequest* request,
    v1::ExportStatementCsvResponse* response) {
  return frame_.Run(
      *context, request_checks::kSelfOrFinance, [&](const Principal& caller) -> absl::Status {
        v1::LedgerFilter filter = request->filter();
        LC_ASSIGN_OR_RETURN(StatementPeriod period,
                            StatementRequest(caller, request->period_start(), request->period_end(),
                                             request->grouping(), filter));
        LC_ASSIGN_OR_RETURN(int limit,
                            common::PageSize(request->page_size(), 5000, kMaxStatementPage));
        LC_ASSIGN_OR_RETURN(std::optional<LineCursor> after,
                            DecodeLineToken(request->page_token()));
        LC_ASSIGN_OR_RETURN(std::vector<StatementLine> lines,
                            store_.StatementLines(caller.brand_id, period.start, period.end,
                                                  request->grouping(), filter, after, limit + 1));
        const bool more = common::TrimPage(lines, limit);
        std::string csv;
        if (!after.has_value()) {
          csv =
              "order_id,booked_at,kind,status,recipient,recipient_id,store_id,rule_id,rule_version,"
              "line_no,basis_points,base_fen,amount_fen,currency,refund_id,settle_at\r\n";
        }
        for (const StatementLine& line : lines) {
          const v1::LedgerEntry& e = line.entry;
          absl::StrAppend(&csv, CsvField(e.order_id()), ",", CsvTime(e.booked_at()), ",",
                          v1::EntryKind_Name(e.kind()), ",", v1::EntryStatus_Name(e.status()), ",",
                          v1::Recipient_Name(e.recipient()), ",", CsvField(e.recipient_id()), ",",
                          e.store_id(), ",", e.rule_id(), ",", e.rule_version(), ",", e.line_no(),
                          ",", e.basis_points(), ",", e.base_fen(), ",", e.amount().amount_fen(),
                          ",", e.amount().currency(), ",", CsvField(e.refund_id()), ",",
                          CsvTime(e.settle_at()), "\r\n");
        }
        if (more) {
          response->set_next_page_token(EncodeLineToken(lines.back().cursor));
        } else {
          // The last page: totals per group, then per currency.
          LC_ASSIGN_OR_RETURN(v1::Statement st,
                              store_.StatementTotals(caller.brand_id, period.start, period.end,
                                                     request->grouping(), filter));
          absl::StrAppend(
              &csv,
              "\r\ntotal,recipient,recipient_id,currency,sales_fen,reversals_fen,"
              "receivables_fen,net_fen,pending_fen,settled_fen,entries,sale_entries\r\n");
          auto row = [&](const std::string& label, const std::string& recipient,
                         const std::string& id, const v1::StatementTotals& t) {
            absl::StrAppend(&csv, label, ",", recipient, ",", CsvField(id), ",", t.currency(), ",",
                            t.sales_fen(), ",", t.reversals_fen(), ",", t.receivables_fen(), ",",
                            t.net_fen(), ",", t.pending_fen(), ",", t.settled_fen(), ",",
                            t.entries(), ",", t.sale_entries(), "\r\n");
          };
          for (const v1::StatementGroup& g : st.groups()) {
            row("group",
                g.recipient() == v1::RECIPIENT_UNSPECIFIED ? "" : v1::Recipient_Name(g.recipient()),
                g.recipient_id(), g.totals());
          }
          for (const v1::StatementTotals& t : st.totals()) row("all", "", "", t);
        }
        response->set_csv(std::move(csv));
        return absl::OkStatus();
      });
}

absl::StatusOr<absl::Time> AttributionServiceImpl::SettleOnce() {
  absl::Time now = clock_.Now();
  return store_.Settle(now, now);
}

}  // namespace livecommerce::attribution
