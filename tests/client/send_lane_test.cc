// SendLane: batching, numbering, and what each outcome does, stepped with
// explicit times (client/cpp/src/send_lane.h).
#include "client/cpp/src/send_lane.h"

#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "sluice/client/errors.h"

namespace sluice::client::internal {
namespace {

constexpr uint32_t kPartition = 2;
const absl::Time kT0 = absl::FromUnixSeconds(1000);

struct Outcomes {
  std::vector<absl::StatusOr<SendReceipt>> results;
  std::vector<std::string> order;  // bodies, in completion order
};

class SendLaneTest : public ::testing::Test {
 protected:
  SendLaneTest() : lane_(kPartition, "p-abc", RetryOptions{}, 7) {
    limits_.max_messages = 3;
    limits_.max_bytes = 100;
    limits_.linger = absl::Milliseconds(10);
  }

  void Add(const std::string& body, absl::Time at = kT0,
           absl::Duration timeout = absl::Seconds(30)) {
    PendingSend m;
    m.entry.set_body(body);
    m.bytes = body.size();
    m.enqueued = at;
    m.deadline = at + timeout;
    m.done = [this, body](absl::StatusOr<SendReceipt> r) {
      outcomes_.results.push_back(r);
      outcomes_.order.push_back(body);
    };
    lane_.Add(std::move(m));
  }

  std::optional<v1::SendRequest> Next(absl::Time now, bool flush = false) {
    return lane_.Next(now, limits_, flush, "q");
  }

  void Run(Completions c) {
    for (Completion& x : c) x.done(std::move(x.result));
  }

  // A successful answer to `request`, sequence numbers from `first_seq`.
  static v1::SendResponse Ok(const v1::SendRequest& request, uint64_t first_seq,
                             bool duplicate = false) {
    v1::SendResponse response;
    for (int i = 0; i < request.entries_size(); ++i) {
      v1::SendResult* r = response.add_results();
      r->set_entry_id(request.entries(i).entry_id());
      r->set_message_id(absl::StrCat("id-", first_seq + i));
      r->set_partition(kPartition);
      r->set_sequence_number(first_seq + i);
      r->set_duplicate(duplicate);
    }
    return response;
  }

  static v1::SendResponse AllFailed(const v1::SendRequest& request, int code,
                                    v1::ErrorReason reason) {
    v1::SendResponse response;
    for (int i = 0; i < request.entries_size(); ++i) {
      v1::SendResult* r = response.add_results();
      r->mutable_status()->set_code(code);
      r->mutable_status()->set_reason(reason);
    }
    return response;
  }

  SendLane lane_;
  BatchLimits limits_;
  Outcomes outcomes_;
};

TEST_F(SendLaneTest, PartialBatchWaitsForLingerFullBatchGoesAtOnce) {
  Add("a");
  Add("b");
  EXPECT_FALSE(Next(kT0 + absl::Milliseconds(9)).has_value());
  EXPECT_EQ(lane_.NextWake(limits_), kT0 + absl::Milliseconds(10));
  Add("c");  // the batch is full (3)
  std::optional<v1::SendRequest> r = Next(kT0 + absl::Milliseconds(1));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->entries_size(), 3);
  EXPECT_EQ(r->queue_name(), "q");
  EXPECT_EQ(r->producer_id(), "p-abc");
  ASSERT_EQ(r->producer_sequences_size(), 1);
  EXPECT_EQ(r->producer_sequences(0).partition(), kPartition);
  EXPECT_EQ(r->producer_sequences(0).first_sequence(), 1u);
  for (const v1::SendEntry& e : r->entries()) {
    EXPECT_TRUE(e.has_partition());
    EXPECT_EQ(e.partition(), kPartition);
  }
  EXPECT_TRUE(lane_.in_flight());
  Add("d");
  EXPECT_FALSE(Next(kT0 + absl::Seconds(1)).has_value())
      << "one request per partition at a time";
}

TEST_F(SendLaneTest, FlushSendsAPartialBatchAtOnce) {
  Add("a");
  EXPECT_FALSE(Next(kT0).has_value());
  ASSERT_TRUE(Next(kT0, /*flush=*/true).has_value());
}

TEST_F(SendLaneTest, BatchStopsBeforeMaxBytesButALargeMessageGoesAlone) {
  Add(std::string(60, 'x'));
  Add(std::string(60, 'y'));
  std::optional<v1::SendRequest> r = Next(kT0);  // 120 bytes >= 100: full
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->entries_size(), 1);
  Run(lane_.OnResponse(Ok(*r, 1), kT0));
  r = Next(kT0, true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->entries_size(), 1);
  EXPECT_EQ(r->producer_sequences(0).first_sequence(), 2u);
}

TEST_F(SendLaneTest, SuccessAnswersEveryMessageAndNumberingContinues) {
  Add("a");
  Add("b");
  std::optional<v1::SendRequest> r = Next(kT0, true);
  ASSERT_TRUE(r.has_value());
  Run(lane_.OnResponse(Ok(*r, 41), kT0));
  ASSERT_EQ(outcomes_.results.size(), 2u);
  ASSERT_TRUE(outcomes_.results[0].ok());
  EXPECT_EQ(outcomes_.results[0]->message_id, "id-41");
  EXPECT_EQ(outcomes_.results[1]->sequence_number, 42u);
  EXPECT_EQ(outcomes_.order, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(lane_.idle());
  Add("c");
  r = Next(kT0, true);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->producer_sequences(0).first_sequence(), 3u);
}

TEST_F(SendLaneTest, UnknownOutcomeResendsTheSameNumbersAfterABackoff) {
  Add("a");
  Add("b");
  std::optional<v1::SendRequest> first = Next(kT0, true);
  ASSERT_TRUE(first.has_value());
  absl::Status unavailable = absl::UnavailableError("leader changed");
  unavailable.SetPayload(kLeaderPayload, absl::Cord("10.0.0.9:7100"));
  Run(lane_.OnRpcError(unavailable, kT0));
  EXPECT_TRUE(outcomes_.results.empty()) << "callers wait for the retry";
  EXPECT_EQ(lane_.target(), "10.0.0.9:7100") << "follows the leader hint";
  Add("c");  // must not join the request being retried
  const std::optional<absl::Time> retry_at = lane_.NextWake(limits_);
  ASSERT_TRUE(retry_at.has_value());
  EXPECT_GE(*retry_at, kT0 + absl::Milliseconds(25));  // >= half of 50 ms
  EXPECT_LE(*retry_at, kT0 + absl::Milliseconds(50));
  EXPECT_FALSE(Next(*retry_at - absl::Milliseconds(1), true).has_value());
  std::optional<v1::SendRequest> again = Next(*retry_at, true);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->SerializeAsString(), first->SerializeAsString())
      << "byte for byte the same request";
  EXPECT_EQ(lane_.resends(), 1u);
  // Already applied the first time: the server repeats the results.
  Run(lane_.OnResponse(Ok(*again, 1, /*duplicate=*/true), kT0));
  ASSERT_EQ(outcomes_.results.size(), 2u);
  EXPECT_TRUE(outcomes_.results[0]->duplicate);
  std::optional<v1::SendRequest> next = Next(kT0 + absl::Seconds(1), true);
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->entries_size(), 1);
  EXPECT_EQ(next->producer_sequences(0).first_sequence(), 3u);
}

TEST_F(SendLaneTest, RetryableEntryStatusResendsTheWholeRequest) {
  Add("a");
  std::optional<v1::SendRequest> first = Next(kT0, true);
  Run(lane_.OnResponse(
      AllFailed(*first, static_cast<int>(absl::StatusCode::kResourceExhausted),
                v1::ERROR_REASON_BACKLOG_LIMIT_EXCEEDED),
      kT0));
  EXPECT_TRUE(outcomes_.results.empty());
  std::optional<v1::SendRequest> again = Next(kT0 + absl::Seconds(5), true);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->SerializeAsString(), first->SerializeAsString());
}

TEST_F(SendLaneTest, GapStartsANewEpochNumberedFromOne) {
  Add("a");
  Add("b");
  std::optional<v1::SendRequest> r = Next(kT0, true);
  Run(lane_.OnResponse(Ok(*r, 1), kT0));
  Add("c");
  r = Next(kT0, true);
  EXPECT_EQ(r->producer_sequences(0).first_sequence(), 3u);
  // The partition forgot us (or an abandoned request never arrived).
  Run(lane_.OnResponse(
      AllFailed(*r, static_cast<int>(absl::StatusCode::kFailedPrecondition),
                v1::ERROR_REASON_PRODUCER_SEQUENCE_GAP),
      kT0));
  EXPECT_EQ(outcomes_.results.size(), 2u) << "c is not answered yet";
  std::optional<v1::SendRequest> renumbered = Next(kT0, true);
  ASSERT_TRUE(renumbered.has_value());
  EXPECT_EQ(renumbered->producer_id(), "p-abc-1");
  EXPECT_EQ(renumbered->producer_sequences(0).first_sequence(), 1u);
  EXPECT_EQ(renumbered->entries(0).body(), "c");
  Run(lane_.OnResponse(Ok(*renumbered, 9), kT0));
  ASSERT_EQ(outcomes_.results.size(), 3u);
  EXPECT_TRUE(outcomes_.results[2].ok());
  EXPECT_EQ(lane_.epoch(), 1u);
}

TEST_F(SendLaneTest, StaleMeansAppliedLongAgoAndCountsAsSent) {
  Add("a");
  std::optional<v1::SendRequest> r = Next(kT0, true);
  Run(lane_.OnResponse(
      AllFailed(*r, static_cast<int>(absl::StatusCode::kFailedPrecondition),
                v1::ERROR_REASON_PRODUCER_SEQUENCE_STALE),
      kT0));
  ASSERT_EQ(outcomes_.results.size(), 1u);
  ASSERT_TRUE(outcomes_.results[0].ok());
  EXPECT_TRUE(outcomes_.results[0]->forgotten);
  EXPECT_TRUE(outcomes_.results[0]->duplicate);
}

TEST_F(SendLaneTest, OneInvalidEntryFailsAloneAndTheRestIsResentUnchanged) {
  Add("a");
  Add("bad");
  Add("c");
  std::optional<v1::SendRequest> r = Next(kT0);
  ASSERT_EQ(r->entries_size(), 3);
  absl::Status invalid =
      absl::InvalidArgumentError("entries[1].attributes: too many");
  invalid.SetPayload(kFieldPayload, absl::Cord("entries[1].attributes"));
  Run(lane_.OnRpcError(invalid, kT0));
  ASSERT_EQ(outcomes_.results.size(), 1u);
  EXPECT_EQ(outcomes_.order[0], "bad");
  EXPECT_EQ(outcomes_.results[0].status().code(),
            absl::StatusCode::kInvalidArgument);
  std::optional<v1::SendRequest> again = Next(kT0);
  ASSERT_TRUE(again.has_value()) << "resent at once";
  ASSERT_EQ(again->entries_size(), 2);
  EXPECT_EQ(again->entries(0).body(), "a");
  EXPECT_EQ(again->entries(1).body(), "c");
  EXPECT_EQ(again->producer_sequences(0).first_sequence(), 1u)
      << "a refused request uses up no number";
  Run(lane_.OnResponse(Ok(*again, 1), kT0));
  Add("d");
  EXPECT_EQ(Next(kT0, true)->producer_sequences(0).first_sequence(), 3u);
}

TEST_F(SendLaneTest, OtherErrorsFailTheRequestAndTheNextOneMayMeetAGap) {
  Add("a");
  std::optional<v1::SendRequest> r = Next(kT0, true);
  Run(lane_.OnRpcError(absl::NotFoundError("queue 'q' does not exist"), kT0));
  ASSERT_EQ(outcomes_.results.size(), 1u);
  EXPECT_EQ(outcomes_.results[0].status().code(), absl::StatusCode::kNotFound);
  Add("b");
  EXPECT_EQ(Next(kT0, true)->producer_sequences(0).first_sequence(), 2u)
      << "numbers of a request with an unclear fate are never reused";
}

TEST_F(SendLaneTest, DeadlinesFailWaitingMessagesAndAbandonAnAnsweredRequest) {
  Add("a", kT0, absl::Seconds(1));
  std::optional<v1::SendRequest> r = Next(kT0, true);
  Add("waiting", kT0, absl::Seconds(1));
  Run(lane_.OnRpcError(absl::UnavailableError("down"), kT0));
  Run(lane_.Expire(kT0 + absl::Seconds(1)));
  ASSERT_EQ(outcomes_.results.size(), 2u);
  for (const auto& result : outcomes_.results) {
    EXPECT_EQ(result.status().code(), absl::StatusCode::kDeadlineExceeded);
  }
  EXPECT_TRUE(lane_.idle()) << "nobody waits for the retry any more";
  Add("b", kT0 + absl::Seconds(1));
  EXPECT_EQ(Next(kT0 + absl::Seconds(1), true)
                ->producer_sequences(0)
                .first_sequence(),
            2u);
}

TEST_F(SendLaneTest, AMessageWithTimeLeftKeepsItsRequestAlive) {
  Add("short", kT0, absl::Seconds(1));
  Add("long", kT0, absl::Seconds(60));
  std::optional<v1::SendRequest> r = Next(kT0, true);
  Run(lane_.OnRpcError(absl::UnavailableError("down"), kT0));
  Run(lane_.Expire(kT0 + absl::Seconds(2)));
  ASSERT_EQ(outcomes_.results.size(), 1u);
  EXPECT_EQ(outcomes_.order[0], "short");
  std::optional<v1::SendRequest> again = Next(kT0 + absl::Seconds(2), true);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->entries_size(), 2) << "the request is resent whole";
  Run(lane_.OnResponse(Ok(*again, 1), kT0 + absl::Seconds(2)));
  ASSERT_EQ(outcomes_.results.size(), 2u) << "short is not answered twice";
  EXPECT_TRUE(outcomes_.results[1].ok());
}

}  // namespace
}  // namespace sluice::client::internal
