#include "cleanroom/result.h"

namespace cleanroom {

const char* toString(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Retryable: return "retryable";
    case ErrorKind::Permanent: return "permanent";
    case ErrorKind::Gone: return "gone";
  }
  return "unknown";
}

std::string Error::describe() const {
  return std::string(toString(kind)) + ": " + message;
}

}  // namespace cleanroom
