// Viewfinder public API: errors.
//
// Exceptions are for real errors that an operator can act on (a missing model file, a broken
// photo, a corrupt library); their message names the thing and the problem. Programmer
// mistakes are asserts.
#pragma once

#include <stdexcept>
#include <string>

namespace vf {

enum class ErrorCode {
  Generic,
  NotFound,         // a file, photo or library that does not exist
  InvalidArgument,  // bad user input (option value, query)
  BadModel,         // a model directory that is missing, truncated or mismatched
  BadImage,         // a photo that cannot be decoded
  TooLarge,         // over a size / pixel limit
  Timeout,          // a decode that took too long
  Io,               // a read or write failed
  Corrupt,          // a library file failed its consistency checks
  Network,          // a download failed
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ErrorCode code = ErrorCode::Generic)
      : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace vf
