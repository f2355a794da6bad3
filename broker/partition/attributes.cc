#include "broker/partition/attributes.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "broker/partition/entry_status.h"
#include "broker/queue/types.h"
#include "broker/queue/validation.h"

namespace sluice::broker {

absl::StatusOr<internal::MessageAttribute> ToStoredAttribute(
    std::string_view name, const v1::MessageAttributeValue& value,
    std::string_view field) {
  const auto invalid = [&](std::string_view sub, std::string_view what) {
    return InvalidField(absl::StrCat(AbslView(field), AbslView(sub)), what,
                        v1::ERROR_REASON_INVALID_MESSAGE_ATTRIBUTE);
  };
  if (absl::Status s = ValidateAttributeName(field, name); !s.ok()) {
    return WithReason(s, v1::ERROR_REASON_INVALID_MESSAGE_ATTRIBUTE, field);
  }
  const std::string& custom = value.custom_type();
  if (custom.size() > static_cast<size_t>(kMaxNameLength)) {
    return invalid(".custom_type", "longer than 256 characters");
  }
  for (char c : custom) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_' &&
        c != '-' && c != '.') {
      return invalid(".custom_type", "may hold only A-Z a-z 0-9 _ - .");
    }
  }
  internal::MessageAttribute out;
  out.set_name(std::string(name));
  std::string type;
  switch (value.value_case()) {
    case v1::MessageAttributeValue::kStringValue:
      type = "String";
      out.set_string_value(value.string_value());
      break;
    case v1::MessageAttributeValue::kNumberValue:
      type = "Number";
      out.set_string_value(value.number_value());
      break;
    case v1::MessageAttributeValue::kBinaryValue:
      type = "Binary";
      out.set_binary_value(value.binary_value());
      break;
    default:
      return invalid("", "a value (string, number or binary) is required");
  }
  if (!custom.empty()) absl::StrAppend(&type, ".", custom);
  out.set_data_type(type);
  return out;
}

v1::MessageAttributeValue ToPublicAttribute(
    const internal::MessageAttribute& attribute) {
  v1::MessageAttributeValue out;
  std::string_view type = attribute.data_type();
  std::string_view base = type.substr(0, type.find('.'));
  if (base.size() < type.size()) {
    out.set_custom_type(std::string(type.substr(base.size() + 1)));
  }
  if (base == "Number") {
    out.set_number_value(attribute.string_value());
  } else if (base == "Binary") {
    out.set_binary_value(attribute.binary_value());
  } else {
    out.set_string_value(attribute.string_value());
  }
  return out;
}

bool AttributeSelected(
    const google::protobuf::RepeatedPtrField<std::string>& selection,
    std::string_view name) {
  if (selection.empty()) return true;
  for (const std::string& s : selection) {
    if (s == "All" || s == ".*" || s == name) return true;
    if (absl::EndsWith(s, ".*") &&
        absl::StartsWith(AbslView(name),
                         absl::string_view(s).substr(0, s.size() - 1))) {
      return true;
    }
  }
  return false;
}

}  // namespace sluice::broker
