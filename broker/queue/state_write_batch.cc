#include "broker/queue/state_write_batch.h"

namespace sluice::broker {

void LevelDbWriteBatch::Put(std::string_view key, std::string_view value) {
  batch_->Put(leveldb::Slice(key.data(), key.size()),
              leveldb::Slice(value.data(), value.size()));
}

void LevelDbWriteBatch::Delete(std::string_view key) {
  batch_->Delete(leveldb::Slice(key.data(), key.size()));
}

}  // namespace sluice::broker
