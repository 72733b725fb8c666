#pragma once

// Events between services (protos/livecommerce/events/v1/events.proto; docs/EVENTS.md).
//
// Producer: EventOutbox::Publish writes an event into the producer's own outbox table, once per
// subscriber, in the transaction that makes the change; an EventRelay job delivers due rows to
// each subscriber's EventSink (at least once, retried with backoff, oldest first) and marks them.
// Consumer: EventConsumer applies each event once, in a transaction that also records
// (producer, event id) in the consumer's own table; EventSinkService is its gRPC face.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "livecommerce/events/v1/events.grpc.pb.h"
#include "livecommerce/events/v1/events.pb.h"
#include "services/common/clock.h"
#include "services/common/handler.h"
#include "services/common/mysql_client.h"
#include "services/common/periodic_task.h"
#include "services/common/principal.h"

namespace livecommerce::common {

class ServiceMetrics;

// An event to publish: what it is about and its payload.
struct OutgoingEvent {
  std::string brand_id;
  std::string key;
  std::string type;     // the payload's full message name
  std::string payload;  // the serialized message
  static OutgoingEvent Of(std::string brand_id, std::string key,
                          const google::protobuf::Message& payload) {
    return OutgoingEvent{std::move(brand_id), std::move(key), payload.GetDescriptor()->full_name(),
                         payload.SerializeAsString()};
  }
};

// The producer's outbox: a table it owns, of the shape docs/EVENTS.md gives.
class EventOutbox final {
 public:
  // `producer`: the service's name; `table`: its outbox table; `subscribers`: who gets its events.
  EventOutbox(std::string producer, std::string table, std::vector<std::string> subscribers);

  // Queues `payload` for every subscriber, on `c` (inside the caller's transaction).
  void Publish(MysqlConnection& c, const std::string& brand_id, const std::string& key,
               const google::protobuf::Message& payload, absl::Time now) const;

  // Queues many events (multi-row statements), on `c`.
  void PublishAll(MysqlConnection& c, const std::vector<OutgoingEvent>& events,
                  absl::Time now) const;

  const std::string& producer() const { return producer_; }
  const std::string& table() const { return table_; }
  const std::vector<std::string>& subscribers() const { return subscribers_; }

 private:
  std::string producer_;
  std::string table_;
  std::vector<std::string> subscribers_;
};

// Delivers an outbox's events, oldest first, to each subscriber; a subscriber that refuses or is
// down is tried again after a backoff, its events waiting in order. Thread-compatible: one relay
// per outbox, run from one job.
class EventRelay final {
 public:
  struct Options {
    int batch = 200;                            // events per subscriber and pass
    absl::Duration timeout = absl::Seconds(5);  // per call
    absl::Duration max_backoff = absl::Minutes(5);
    absl::Duration retention = absl::Hours(24 * 7);  // delivered rows kept this long
  };
  // `sinks`: subscriber name -> EventSink address (a subscriber without one is left queued).
  EventRelay(MysqlPool& pool, const EventOutbox& outbox, std::map<std::string, std::string> sinks,
             const PrincipalCodec& codec, const Clock& clock, Options options);
  EventRelay(MysqlPool& pool, const EventOutbox& outbox, std::map<std::string, std::string> sinks,
             const PrincipalCodec& codec, const Clock& clock)
      : EventRelay(pool, outbox, std::move(sinks), codec, clock, Options()) {}
  ~EventRelay();

  // One pass over every subscriber: how many events were delivered.
  absl::StatusOr<int> DeliverDue();
  // How long the oldest undelivered event has waited (zero when none). Safe to call from any
  // thread (the metrics' scrape does).
  absl::StatusOr<absl::Duration> Lag();
  // lc_event_outbox_lag_seconds{producer}, lc_events_delivered_total{producer} and
  // lc_event_delivery_failures_total{producer}.
  void ExportMetrics(ServiceMetrics& metrics);

 private:
  struct Pending;
  absl::StatusOr<int> DeliverTo(const std::string& subscriber, const std::string& address);

  MysqlPool& pool_;
  const EventOutbox& outbox_;
  std::map<std::string, std::string> sinks_;
  const PrincipalCodec& codec_;
  const Clock& clock_;
  Options options_;
  std::map<std::string, std::unique_ptr<events::v1::EventSink::Stub>> stubs_;
  struct Backoff {
    absl::Duration delay = absl::ZeroDuration();
    absl::Time next_try = absl::InfinitePast();
  };
  std::map<std::string, Backoff> backoff_;  // by subscriber
  std::atomic<int64_t> delivered_{0};
  std::atomic<int64_t> failures_{0};
  absl::Time last_purge_ = absl::InfinitePast();
};

// LC_EVENT_RELAY_INTERVAL_MS: how often a producer's relay looks for due events (200 ms).
absl::StatusOr<absl::Duration> LoadEventRelayInterval();

// Runs a relay about every `period` on its own thread until stopped (logging what fails).
class EventRelayTask final {
 public:
  EventRelayTask(EventRelay& relay, absl::Duration period);
  ~EventRelayTask();
  void Start();
  void Stop();

 private:
  std::unique_ptr<PeriodicTask> task_;
};

// A producer's events as its main() wires them: the outbox its stores publish to (table
// "<producer>_event_outbox"), and the relay that delivers it to each subscriber at the address in
// LC_<SUBSCRIBER>_ADDR (an empty one leaves its events queued), every LC_EVENT_RELAY_INTERVAL_MS,
// with its metrics. A new producer is one of these in its main.cc and a migration creating the
// table (docs/EVENTS.md).
class EventPublisher final {
 public:
  struct Subscriber {
    std::string name;             // e.g. "report"
    std::string default_address;  // when LC_<NAME>_ADDR is not set
  };
  // INVALID_ARGUMENT for a bad LC_EVENT_RELAY_INTERVAL_MS. `pool`, `codec` and `clock` must
  // outlive the publisher.
  static absl::StatusOr<std::unique_ptr<EventPublisher>> Create(
      const std::string& producer, const std::vector<Subscriber>& subscribers, MysqlPool& pool,
      const PrincipalCodec& codec, const Clock& clock);

  const EventOutbox& outbox() const { return outbox_; }
  void ExportMetrics(ServiceMetrics& metrics) { relay_.ExportMetrics(metrics); }
  void Start() { task_.Start(); }
  void Stop() { task_.Stop(); }

 private:
  EventPublisher(EventOutbox outbox, MysqlPool& pool, std::map<std::string, std::string> sinks,
                 const PrincipalCodec& codec, const Clock& clock, absl::Duration period);

  EventOutbox outbox_;
  EventRelay relay_;
  EventRelayTask task_;  // last: stopped first on destruction
};

// The consumer's side: applies each event once.
class EventConsumer final {
 public:
  using Handler = std::function<absl::Status(MysqlConnection&, const events::v1::Event&)>;

  // `consumed_table`: the consumer's table of applied events (docs/EVENTS.md).
  EventConsumer(MysqlPool& pool, std::string consumed_table, const Clock& clock);

  // `handler` applies events whose payload type is `Payload`, in the transaction given.
  template <typename Payload>
  void On(std::function<absl::Status(MysqlConnection&, const events::v1::Event&, const Payload&)>
              handler) {
    handlers_[Payload::descriptor()->full_name()] =
        [handler](MysqlConnection& c, const events::v1::Event& event) -> absl::Status {
      Payload payload;
      if (!payload.ParseFromString(event.payload())) {
        return absl::InvalidArgumentError("payload: not a valid " +
                                          Payload::descriptor()->full_name());
      }
      return handler(c, event, payload);
    };
  }

  // Like On, for handlers that apply a run of events of one type at once (consecutive events of
  // the type in one delivery, in order): fewer statements when events come in bulk.
  template <typename Payload>
  void OnBatch(
      std::function<absl::Status(MysqlConnection&,
                                 const std::vector<std::pair<const events::v1::Event*, Payload>>&)>
          handler) {
    batch_handlers_[Payload::descriptor()->full_name()] =
        [handler](MysqlConnection& c,
                  const std::vector<const events::v1::Event*>& run) -> absl::Status {
      std::vector<std::pair<const events::v1::Event*, Payload>> parsed(run.size());
      for (size_t i = 0; i < run.size(); ++i) {
        parsed[i].first = run[i];
        if (!parsed[i].second.ParseFromString(run[i]->payload())) {
          return absl::InvalidArgumentError("payload: not a valid " +
                                            Payload::descriptor()->full_name());
        }
      }
      return handler(c, parsed);
    };
  }

  // Applies `event` unless it was applied before (both answer OK). A type this consumer does not
  // handle is recorded as applied and skipped (a producer newer than its consumer).
  absl::Status Apply(const events::v1::Event& event);
  // Applies `events` in order, each once, in one transaction when they all apply (one commit for
  // a relay's whole call); otherwise one at a time up to the first that fails. Returns how many
  // of the first events were applied (now or before) and the first failure, if any.
  struct BatchResult {
    int applied = 0;
    absl::Status failure;
  };
  BatchResult ApplyAll(const std::vector<const events::v1::Event*>& events);

 private:
  // Claims and applies `events` on `c` (inside the caller's transaction).
  absl::Status ApplyOn(MysqlConnection& c, const std::vector<const events::v1::Event*>& events);

  MysqlPool& pool_;
  std::string consumed_table_;
  const Clock& clock_;
  std::map<std::string, Handler> handlers_;
  std::map<std::string, std::function<absl::Status(MysqlConnection&,
                                                   const std::vector<const events::v1::Event*>&)>>
      batch_handlers_;
};

// The gRPC EventSink of a consumer: only services call it, and only with events of their brand.
class EventSinkService final : public events::v1::EventSink::Service {
 public:
  EventSinkService(EventConsumer& consumer, const HandlerFrame& frame)
      : consumer_(consumer), frame_(frame) {}
  grpc::Status DeliverEvents(grpc::ServerContext* context,
                             const events::v1::DeliverEventsRequest* request,
                             events::v1::DeliverEventsResponse* response) override;

 private:
  EventConsumer& consumer_;
  const HandlerFrame& frame_;
};

}  // namespace livecommerce::common
