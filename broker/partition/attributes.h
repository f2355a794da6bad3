// Message attributes between the public form (a map of typed values with an
// optional custom type) and the stored form (SQS's data_type string), and
// the receive-side selection by name.
#ifndef SLUICE_BROKER_PARTITION_ATTRIBUTES_H_
#define SLUICE_BROKER_PARTITION_ATTRIBUTES_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_field.h"
#include "sluice/internal/commands.pb.h"
#include "sluice/v1/types.pb.h"

namespace sluice::broker {

// `field` names the attribute in errors ("entries[3].attributes[color]").
// Checks the name, that a value is set and the custom type's characters;
// the value itself (numbers) is checked by the queue's validation.
absl::StatusOr<internal::MessageAttribute> ToStoredAttribute(
    std::string_view name, const v1::MessageAttributeValue& value,
    std::string_view field);

v1::MessageAttributeValue ToPublicAttribute(
    const internal::MessageAttribute& attribute);

// Whether `name` is selected by ReceiveRequest.message_attribute_names:
// empty selects all; entries are exact names, "prefix.*", or "All" / ".*".
bool AttributeSelected(
    const google::protobuf::RepeatedPtrField<std::string>& selection,
    std::string_view name);

}  // namespace sluice::broker

#endif  // SLUICE_BROKER_PARTITION_ATTRIBUTES_H_
