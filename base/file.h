// Whole small files (config files, PEM certificates) read into memory.
#ifndef SLUICE_BASE_FILE_H_
#define SLUICE_BASE_FILE_H_

#include <optional>
#include <string>

namespace sluice {

// The file's bytes, or nullopt when it cannot be opened; callers say which
// setting named it.
std::optional<std::string> ReadWholeFile(const std::string& path);

}  // namespace sluice

#endif  // SLUICE_BASE_FILE_H_
