// The main() of a fuzz target built without libFuzzer (the default g++
// build): feeds every file named on the command line, or found in a
// directory named there, to LLVMFuzzerTestOneInput once. ctest runs it over
// the target's corpus (seeds and regression inputs) as a unit test.
//
//   <target>_replay PATH...              replay files and directories
//   <target>_replay --write-seeds DIR    write the target's Seeds() to DIR
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

int Replay(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", file.c_str());
    return 1;
  }
  std::stringstream bytes;
  bytes << in.rdbuf();
  const std::string input = bytes.str();
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                         input.size());
  return 0;
}

int WriteSeeds(const fs::path& dir) {
  fs::create_directories(dir);
  for (const sluice::fuzz::Seed& seed : sluice::fuzz::Seeds()) {
    std::ofstream out(dir / seed.name, std::ios::binary | std::ios::trunc);
    out.write(seed.bytes.data(),
              static_cast<std::streamsize>(seed.bytes.size()));
    if (!out) {
      std::fprintf(stderr, "cannot write %s\n", (dir / seed.name).c_str());
      return 1;
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "--write-seeds")
    return WriteSeeds(args[1]);
  if (args.empty()) {
    std::fprintf(stderr,
                 "usage: %s PATH... | --write-seeds DIR\n"
                 "  replays every input file (or file in a directory)\n",
                 argv[0]);
    return 2;
  }
  size_t replayed = 0;
  for (const std::string& arg : args) {
    std::vector<fs::path> files;
    if (fs::is_directory(arg)) {
      for (const auto& entry : fs::directory_iterator(arg)) {
        if (entry.is_regular_file()) files.push_back(entry.path());
      }
      std::sort(files.begin(), files.end());
    } else {
      files.push_back(arg);
    }
    for (const fs::path& file : files) {
      if (Replay(file) != 0) return 1;
      ++replayed;
    }
  }
  std::printf("replayed %zu inputs without a crash\n", replayed);
  return replayed == 0 ? 1 : 0;
}
