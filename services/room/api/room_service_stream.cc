// RoomServiceImpl: the stream (push address, key rotation, recordings, the streaming server's
// callbacks). The decisions are in domain/stream.h, the bookkeeping in stream/room_streams.h.
#include "absl/strings/str_cat.h"
#include "services/common/proto_util.h"
#include "services/common/status.h"
#include "services/room/api/room_protos.h"
#include "services/room/api/room_service.h"

namespace livecommerce::room {
namespace {

using common::FormatId;
using common::Principal;
using common::Role;
using common::Roles;

constexpr Roles kRunners{Role::kOps, Role::kAssociate};
constexpr Roles kRecordingReaders{Role::kOps, Role::kFinance};
constexpr int kDefaultPageSize = 20;
constexpr int kMaxPageSize = 100;

absl::Status NoStreaming() {
  return absl::FailedPreconditionError("streaming is not configured for this deployment");
}

}  // namespace

absl::StatusOr<StreamRecord> RoomServiceImpl::StreamToRun(const Principal& caller,
                                                          absl::string_view room_id,
                                                          RoomRecord* room) {
  LC_ASSIGN_OR_RETURN(*room, LoadRoom(caller, room_id));
  if (caller.role == Role::kAssociate && room->host_associate_id != caller.subject) {
    return absl::PermissionDeniedError("room_id: only ops and the room's host run its stream");
  }
  if (room->status == v1::ROOM_STATUS_ENDED) {
    return absl::FailedPreconditionError("room_id: the room has ended");
  }
  if (streams_ == nullptr) return NoStreaming();
  return streams_->Of(*room);
}

grpc::Status RoomServiceImpl::GetPushAddress(grpc::ServerContext* context,
                                             const v1::GetPushAddressRequest* request,
                                             v1::GetPushAddressResponse* response) {
  return frame_.Run(*context, kRunners, [&](const Principal& caller) -> absl::Status {
    RoomRecord room;
    LC_ASSIGN_OR_RETURN(StreamRecord stream, StreamToRun(caller, request->room_id(), &room));
    *response->mutable_push() = streams_->PushOf(stream);
    *response->mutable_stream() = StatusOf(stream, streams_->options().grace);
    *response->mutable_preview() = streams_->PlayOf(stream);
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::RotatePushKey(grpc::ServerContext* context,
                                            const v1::RotatePushKeyRequest* request,
                                            v1::RotatePushKeyResponse* response) {
  return frame_.Run(*context, kRunners, [&](const Principal& caller) -> absl::Status {
    RoomRecord room;
    LC_RETURN_IF_ERROR(StreamToRun(caller, request->room_id(), &room).status());
    LC_ASSIGN_OR_RETURN(*response->mutable_push(), streams_->RotateKey(room));
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::ListRecordings(grpc::ServerContext* context,
                                             const v1::ListRecordingsRequest* request,
                                             v1::ListRecordingsResponse* response) {
  return frame_.Run(*context, kRecordingReaders, [&](const Principal& caller) -> absl::Status {
    LC_ASSIGN_OR_RETURN(RoomRecord room, LoadRoom(caller, request->room_id()));
    LC_ASSIGN_OR_RETURN(common::PageRequest page,
                        common::ParsePageRequest(request->page_size(), request->page_token(),
                                                 kDefaultPageSize, kMaxPageSize));
    if (streams_ == nullptr) return absl::OkStatus();  // no stream, no recordings
    LC_ASSIGN_OR_RETURN(std::vector<RecordingRecord> recordings,
                        streams_->store().ListRecordings(room.id, page.after, page.fetch()));
    bool more = common::TrimPage(recordings, page.limit);
    for (const RecordingRecord& r : recordings) {
      v1::Recording* out = response->add_recordings();
      out->set_id(FormatId(r.id));
      out->set_room_id(FormatId(r.room_id));
      out->set_session_id(FormatId(r.session_id));
      out->set_location(r.location);
      out->set_duration_seconds(r.duration_seconds);
      out->set_size_bytes(r.size_bytes);
      common::ToTimestamp(r.created_at, out->mutable_created_at());
    }
    if (more) response->set_next_page_token(common::EncodePageToken(recordings.back().id));
    return absl::OkStatus();
  });
}

grpc::Status RoomServiceImpl::HandleStreamCallback(grpc::ServerContext* context,
                                                   const v1::HandleStreamCallbackRequest* request,
                                                   v1::HandleStreamCallbackResponse* response) {
  return frame_.Run(*context, common::kServiceOnly, [&](const Principal&) -> absl::Status {
    if (streams_ == nullptr) return NoStreaming();
    LC_ASSIGN_OR_RETURN(*response, streams_->HandleCallback(*request, SessionControl()));
    return absl::OkStatus();
  });
}

absl::StatusOr<int> RoomServiceImpl::EndAbandonedSessions() {
  if (streams_ == nullptr) return 0;
  return streams_->EndAbandoned(SessionControl());
}

}  // namespace livecommerce::room
