// Fuzzes the queue state machine's commands: the bytes of committed Raft
// entries of a queue partition, decoded and applied by QueuePartition::Apply
// (broker/host/queue_partition.cc) on a real QueueStateMachine over LevelDB
// (in memory). A leader proposes only commands it built, but the entry
// bytes are read back from disk and arrive from peers: Apply must reject
// garbage, never crash.
//
// Input: ops until the input ends (queue_fuzz_harness.h lists them). Each
// seed is a short life of a queue: configure, send, receive, delete, ...
// Properties: no crash; the applied index follows the log; what Peek lists
// is readable; reopening from the DB and restoring from the partition's own
// snapshot both give the same state (Digest).
#include <cstdint>
#include <string>

#include "tests/fuzz/fuzz_util.h"
#include "tests/fuzz/queue_fuzz_harness.h"

namespace sluice::fuzz {
namespace {

using internal::Command;

void Op(std::string* in, uint8_t op) { in->push_back(static_cast<char>(op)); }

void ApplyOp(std::string* in, const Command& c) {
  Op(in, 0);
  Frame(in, c.SerializeAsString());
}

Command Configure(bool fifo) {
  Command c;
  c.set_log_time_micros(1'800'000'000'000'000);
  auto* a = c.mutable_set_attributes()->mutable_attributes();
  a->set_name(fifo ? "jobs.fifo" : "jobs");
  a->set_fifo(fifo);
  a->set_content_based_dedup(fifo);
  a->mutable_redrive_policy()->set_dead_letter_target("jobs-dlq");
  a->mutable_redrive_policy()->set_max_receive_count(2);
  a->mutable_retry_backoff()->set_initial_micros(1'000'000);
  a->mutable_retry_backoff()->set_max_micros(8'000'000);
  return c;
}

Command Send(int n, bool fifo, const std::string& producer = "") {
  Command c;
  c.set_log_time_micros(1'800'000'001'000'000);
  auto* send = c.mutable_send();
  if (!producer.empty()) {
    send->set_producer_id(producer);
    send->set_first_producer_sequence(1);
  }
  for (int i = 0; i < n; ++i) {
    auto* e = send->add_entries();
    e->set_body("body " + std::to_string(i));
    if (fifo) {
      e->set_group_id(i % 2 == 0 ? "g" : "h");
      e->set_dedup_id("d" + std::to_string(i));
    }
    auto* attr = e->add_attributes();
    attr->set_name("kind");
    attr->set_data_type("String");
    attr->set_string_value("x");
  }
  return c;
}

}  // namespace

std::vector<Seed> Seeds() {
  std::vector<Seed> seeds;
  for (bool fifo : {false, true}) {
    std::string in;
    ApplyOp(&in, Configure(fifo));
    ApplyOp(&in, Send(4, fifo, "producer-1"));
    Op(&in, 3);  // receive 2
    in.push_back(1);
    Op(&in, 4);  // delete the first lease
    in.push_back(0);
    in.push_back(0);
    Op(&in, 3);  // receive 1
    in.push_back(0);
    Op(&in, 4);  // nack it
    in.push_back(1);
    in.push_back(2);
    Op(&in, 5);  // 30 s later
    in.push_back(30);
    Op(&in, 6);
    Op(&in, 7);  // reopen
    in.push_back(0);
    Op(&in, 7);  // snapshot round trip
    in.push_back(1);
    seeds.push_back({fifo ? "seed-fifo-life" : "seed-standard-life", in});
  }
  {
    // Dead-letter moves, redrive and purge on a standard queue.
    std::string in;
    ApplyOp(&in, Configure(false));
    ApplyOp(&in, Send(3, false));
    for (int i = 0; i < 3; ++i) {
      Op(&in, 3);
      in.push_back(7);
      Op(&in, 5);
      in.push_back(60);
    }
    Command done;
    done.mutable_move_done()->add_sequences(1);
    ApplyOp(&in, done);
    Command redrive;
    redrive.mutable_start_redrive()->set_destination("jobs-2");
    redrive.mutable_start_redrive()->set_max_per_second(10);
    ApplyOp(&in, redrive);
    Op(&in, 6);
    Command purge;
    purge.mutable_purge()->set_below_sequence(2);
    purge.mutable_purge()->set_max_messages(1);
    ApplyOp(&in, purge);
    Command expire;
    expire.set_log_time_micros(1'900'000'000'000'000);
    expire.mutable_expire_retention()->set_max_messages(10);
    ApplyOp(&in, expire);
    Command cancel;
    cancel.mutable_cancel_scheduled()->add_sequences(3);
    ApplyOp(&in, cancel);
    Op(&in, 7);
    in.push_back(1);
    seeds.push_back({"seed-dead-letter-redrive-purge", in});
  }
  {
    std::string in;
    Op(&in, 1);
    Frame(&in, "\x0a\x03\xff\xff\xff");  // not a command
    Op(&in, 2);
    Frame(&in, "");
    seeds.push_back({"seed-garbage", in});
  }
  return seeds;
}

}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sluice::fuzz::ByteReader in(data, size);
  sluice::fuzz::QueueFuzzHarness harness;
  harness.Run(in);
  return 0;
}
