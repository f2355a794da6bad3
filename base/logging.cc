#include "base/logging.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace sluice {
namespace {

LogSeverity SeverityFromEnvironment() {
  const char* level = std::getenv("SLUICE_LOG_LEVEL");
  if (level == nullptr) return LogSeverity::kInfo;
  if (absl::EqualsIgnoreCase(level, "debug")) return LogSeverity::kDebug;
  if (absl::EqualsIgnoreCase(level, "warning")) return LogSeverity::kWarning;
  if (absl::EqualsIgnoreCase(level, "error")) return LogSeverity::kError;
  return LogSeverity::kInfo;
}

std::atomic<int>& MinSeverity() {
  static std::atomic<int> min(static_cast<int>(SeverityFromEnvironment()));
  return min;
}

std::string& Prefix() {
  static std::string* prefix = new std::string();
  return *prefix;
}

char SeverityLetter(LogSeverity severity) {
  switch (severity) {
    case LogSeverity::kDebug:
      return 'D';
    case LogSeverity::kInfo:
      return 'I';
    case LogSeverity::kWarning:
      return 'W';
    case LogSeverity::kError:
      return 'E';
    case LogSeverity::kFatal:
      return 'F';
  }
  return '?';
}

}  // namespace

void SetMinLogSeverity(LogSeverity severity) {
  MinSeverity().store(static_cast<int>(severity));
}

LogSeverity MinLogSeverity() {
  return static_cast<LogSeverity>(
      MinSeverity().load(std::memory_order_relaxed));
}

void SetLogPrefix(std::string prefix) { Prefix() = std::move(prefix); }

namespace internal {

LogMessage::LogMessage(LogSeverity severity, const char* file, int line)
    : severity_(severity) {
  const char* base = std::strrchr(file, '/');
  stream_ << SeverityLetter(severity)
          << absl::FormatTime("%Y%m%d %H:%M:%E6S", absl::Now(),
                              absl::UTCTimeZone());
  if (!Prefix().empty()) stream_ << ' ' << Prefix();
  stream_ << ' ' << (base ? base + 1 : file) << ':' << line << "] ";
}

LogMessage::~LogMessage() {
  stream_ << '\n';
  std::string line = stream_.str();
  // One write per line so that lines from different threads do not interleave.
  std::fwrite(line.data(), 1, line.size(), stderr);
  if (severity_ == LogSeverity::kFatal) {
    std::fflush(stderr);
    std::abort();
  }
}

}  // namespace internal
}  // namespace sluice
