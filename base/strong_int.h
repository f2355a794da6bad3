// StrongInt: an integer with a tag, so that a Term cannot be passed where an
// Index is expected. Arithmetic with the same tag and with the raw type works;
// mixing tags does not compile.
#ifndef SLUICE_BASE_STRONG_INT_H_
#define SLUICE_BASE_STRONG_INT_H_

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>
#include <string>

namespace sluice {

template <typename Tag, typename Rep = uint64_t>
class StrongInt {
 public:
  using ValueType = Rep;

  constexpr StrongInt() = default;
  constexpr explicit StrongInt(Rep value) : value_(value) {}

  constexpr Rep value() const { return value_; }

  constexpr auto operator<=>(const StrongInt&) const = default;

  constexpr StrongInt& operator++() {
    ++value_;
    return *this;
  }
  constexpr StrongInt operator++(int) {
    StrongInt old = *this;
    ++value_;
    return old;
  }
  constexpr StrongInt& operator--() {
    --value_;
    return *this;
  }
  constexpr StrongInt& operator+=(Rep delta) {
    value_ += delta;
    return *this;
  }
  constexpr StrongInt& operator-=(Rep delta) {
    value_ -= delta;
    return *this;
  }
  friend constexpr StrongInt operator+(StrongInt a, Rep delta) {
    return StrongInt(a.value_ + delta);
  }
  friend constexpr StrongInt operator-(StrongInt a, Rep delta) {
    return StrongInt(a.value_ - delta);
  }
  // The distance between two values of the same kind is a raw count.
  friend constexpr Rep operator-(StrongInt a, StrongInt b) {
    return a.value_ - b.value_;
  }

  template <typename H>
  friend H AbslHashValue(H h, StrongInt v) {
    return H::combine(std::move(h), v.value_);
  }
  friend std::ostream& operator<<(std::ostream& os, StrongInt v) {
    return os << v.value_;
  }
  // Debian 12's Abseil predates AbslStringify: pass .value() to StrCat and
  // StrFormat.

 private:
  Rep value_ = 0;
};

}  // namespace sluice

template <typename Tag, typename Rep>
struct std::hash<sluice::StrongInt<Tag, Rep>> {
  size_t operator()(sluice::StrongInt<Tag, Rep> v) const {
    return std::hash<Rep>()(v.value());
  }
};

#endif  // SLUICE_BASE_STRONG_INT_H_
