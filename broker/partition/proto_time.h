// Conversions between absl time types and google.protobuf Timestamp and
// Duration (Debian's protobuf util library is not linked by sluice_proto).
#ifndef SLUICE_BROKER_PARTITION_PROTO_TIME_H_
#define SLUICE_BROKER_PARTITION_PROTO_TIME_H_

#include <cstdint>

#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace sluice::broker {

inline google::protobuf::Timestamp ToProtoTimestamp(absl::Time t) {
  google::protobuf::Timestamp out;
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1'000'000;
  int64_t rest = micros % 1'000'000;
  if (rest < 0) {
    rest += 1'000'000;
    --seconds;
  }
  out.set_seconds(seconds);
  out.set_nanos(static_cast<int32_t>(rest * 1000));
  return out;
}

inline absl::Time FromProtoTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

inline google::protobuf::Duration ToProtoDuration(absl::Duration d) {
  google::protobuf::Duration out;
  const int64_t micros = absl::ToInt64Microseconds(d);
  out.set_seconds(micros / 1'000'000);
  out.set_nanos(static_cast<int32_t>((micros % 1'000'000) * 1000));
  return out;
}

// Sub-millisecond parts are truncated, as the public API documents.
inline absl::Duration FromProtoDuration(const google::protobuf::Duration& d) {
  return absl::Trunc(absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos()),
                     absl::Milliseconds(1));
}

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_PARTITION_PROTO_TIME_H_
