// Strong types for the numbers Raft is made of. A Term cannot be passed where
// an Index is expected.
#ifndef SLUICE_RAFT_TYPES_H_
#define SLUICE_RAFT_TYPES_H_

#include <cstdint>

#include "base/strong_int.h"

namespace sluice::raft {

using Term = StrongInt<struct TermTag>;
using Index = StrongInt<struct IndexTag>;
// Node ids start at 1; 0 means "none" (no vote, no leader).
using NodeId = StrongInt<struct NodeIdTag>;
// One Raft group per queue partition, plus the metadata group.
using GroupId = StrongInt<struct GroupIdTag>;

inline constexpr NodeId kNoNode{0};

}  // namespace sluice::raft

#endif  // SLUICE_RAFT_TYPES_H_
