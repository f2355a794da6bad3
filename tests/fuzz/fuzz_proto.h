// Included by the fuzz targets that parse protobuf: protobuf's own error
// log (e.g. invalid UTF-8 in a string field) is silenced, since fuzzing
// produces every such error at thousands of inputs a second.
#ifndef SLUICE_TESTS_FUZZ_FUZZ_PROTO_H_
#define SLUICE_TESTS_FUZZ_FUZZ_PROTO_H_

#include "google/protobuf/stubs/logging.h"

namespace sluice::fuzz {

inline const bool kQuietProtobuf = [] {
  google::protobuf::SetLogHandler(nullptr);
  return true;
}();

}  // namespace sluice::fuzz

#endif  // SLUICE_TESTS_FUZZ_FUZZ_PROTO_H_
