// StateWriteBatch: where the queue state machine puts its writes while it
// applies a command. The host maps it onto the one LevelDB WriteBatch its
// storage writer syncs together with the Raft log (so state and applied index
// are durable together). LevelDbWriteBatch is that mapping.
//
// Owned by the host; used by one thread at a time (the partition's event
// loop). The state machine never reads back through it: reads go to the DB
// after the host has written the batch.
#ifndef SLUICE_BROKER_QUEUE_STATE_WRITE_BATCH_H_
#define SLUICE_BROKER_QUEUE_STATE_WRITE_BATCH_H_

#include <string_view>

#include "leveldb/write_batch.h"

namespace sluice::broker {

class StateWriteBatch {
 public:
  virtual ~StateWriteBatch() = default;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
};

// Forwards to a leveldb::WriteBatch the caller owns.
class LevelDbWriteBatch final : public StateWriteBatch {
 public:
  explicit LevelDbWriteBatch(leveldb::WriteBatch* batch) : batch_(batch) {}
  void Put(std::string_view key, std::string_view value) override;
  void Delete(std::string_view key) override;

 private:
  leveldb::WriteBatch* batch_;
};

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_QUEUE_STATE_WRITE_BATCH_H_
