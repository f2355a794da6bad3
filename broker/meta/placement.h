// Placement: which nodes hold a new queue's partitions, and which of them
// should lead. Pure and deterministic: the metadata leader computes it and
// puts the result in the CreateQueue command, so every replica applies the
// same placement.
#ifndef SLUICE_BROKER_META_PLACEMENT_H_
#define SLUICE_BROKER_META_PLACEMENT_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "sluice/internal/metadata.pb.h"

namespace sluice::meta {

// Places `partitions` partitions with `replication` replicas each (capped at
// the number of nodes) on `nodes`, given the partitions already placed in
// `state`: each replica goes to the node with the fewest replicas so far,
// each preferred leader to the replica with the fewest preferred
// leaderships (ties: lower node id). Group ids are left 0 (the state
// machine assigns them).
absl::StatusOr<std::vector<sluice::internal::PartitionPlacement>>
PlacePartitions(const sluice::internal::MetadataState& state,
                const std::vector<uint64_t>& nodes, uint32_t partitions,
                uint32_t replication);

}  // namespace sluice::meta

#endif  // SLUICE_BROKER_META_PLACEMENT_H_
