// Structured logging and invariant checks, the one place that names a backend.
//
//   SLUICE_LOG(INFO) << "became leader" << LogKV("group", g) << LogKV("term",
//   t); SLUICE_CHECK(index > 0) << "group " << g;   // crashes with the message
//
// Lines go to stderr as
//   I20261128 08:30:00.123456 node=2 raft.cc:120] became leader group=7 term=3
// A process-wide prefix (e.g. "node=2") is set once with SetLogPrefix.
// The Raft core never logs through this: it takes a Logger in its Config.
#ifndef SLUICE_BASE_LOGGING_H_
#define SLUICE_BASE_LOGGING_H_

#include <sstream>
#include <string>
#include <string_view>

namespace sluice {

enum class LogSeverity {
  kDebug = 0,
  kInfo = 1,
  kWarning = 2,
  kError = 3,
  kFatal = 4
};

// Lines below this severity are dropped. Default kInfo; SLUICE_LOG_LEVEL=debug|
// info|warning|error in the environment overrides it at start.
void SetMinLogSeverity(LogSeverity severity);
LogSeverity MinLogSeverity();
// A prefix written on every line, such as "node=2". Set before threads start.
void SetLogPrefix(std::string prefix);

// One key=value pair, quoted when the value has spaces.
template <typename T>
struct LogKVPair {
  std::string_view key;
  const T& value;
};
template <typename T>
LogKVPair<T> LogKV(std::string_view key, const T& value) {
  return {key, value};
}
template <typename T>
std::ostream& operator<<(std::ostream& os, const LogKVPair<T>& kv) {
  std::ostringstream value;
  value << kv.value;
  std::string text = value.str();
  os << ' ' << kv.key << '=';
  if (text.find(' ') != std::string::npos || text.empty()) {
    os << '"' << text << '"';
  } else {
    os << text;
  }
  return os;
}

namespace internal {

class LogMessage {
 public:
  LogMessage(LogSeverity severity, const char* file, int line);
  ~LogMessage();  // writes the line; aborts for kFatal
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  LogSeverity severity_;
  std::ostringstream stream_;
};

// Swallows the stream when a log line is disabled.
struct LogVoidify {
  void operator&(std::ostream&) {}
};

}  // namespace internal
}  // namespace sluice

#define SLUICE_LOG_SEVERITY_DEBUG ::sluice::LogSeverity::kDebug
#define SLUICE_LOG_SEVERITY_INFO ::sluice::LogSeverity::kInfo
#define SLUICE_LOG_SEVERITY_WARNING ::sluice::LogSeverity::kWarning
#define SLUICE_LOG_SEVERITY_ERROR ::sluice::LogSeverity::kError
#define SLUICE_LOG_SEVERITY_FATAL ::sluice::LogSeverity::kFatal

#define SLUICE_LOG(severity)                                               \
  (SLUICE_LOG_SEVERITY_##severity < ::sluice::MinLogSeverity())            \
      ? (void)0                                                            \
      : ::sluice::internal::LogVoidify() &                                 \
            ::sluice::internal::LogMessage(SLUICE_LOG_SEVERITY_##severity, \
                                           __FILE__, __LINE__)             \
                .stream()

// Crashes with the condition and the streamed message when `cond` is false.
// For broken invariants (bugs), never for bad input.
#define SLUICE_CHECK(cond)                                                   \
  (cond) ? (void)0                                                           \
         : ::sluice::internal::LogVoidify() &                                \
               ::sluice::internal::LogMessage(::sluice::LogSeverity::kFatal, \
                                              __FILE__, __LINE__)            \
                       .stream()                                             \
                   << "Check failed: " #cond " "

#endif  // SLUICE_BASE_LOGGING_H_
