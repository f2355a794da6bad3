// How the sluice CLI prints: aligned tables for people, JSON (the API's own
// proto3 JSON mapping) for scripts, and readable durations, times, sizes.
#ifndef SLUICE_CLIENT_CLI_CLI_OUTPUT_H_
#define SLUICE_CLIENT_CLI_CLI_OUTPUT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "google/protobuf/duration.pb.h"
#include "google/protobuf/message.h"
#include "google/protobuf/timestamp.pb.h"

namespace sluice::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void Add(std::vector<std::string> row);
  // Columns padded to their widest cell, two spaces apart; no trailing
  // blanks.
  std::string Render() const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// One JSON object, pretty-printed, field names as in the .proto files.
std::string Json(const google::protobuf::Message& message);

std::string FormatDuration(const google::protobuf::Duration& d);  // "30s", "4d"
std::string FormatTime(const google::protobuf::Timestamp& t);  // RFC 3339, UTC
std::string FormatBytes(uint64_t bytes);                       // "1.5 MiB"

}  // namespace sluice::cli

#endif  // SLUICE_CLIENT_CLI_CLI_OUTPUT_H_
