// XmlElement: a read-only tree of an AWS XML response (query protocol:
// ELBv2, STS; S3 REST-XML), enough to find element text and iterate
// <member> lists. Parsing is done by Boost.PropertyTree's XML parser, which
// stays out of this header. Attributes (xmlns) and comments are dropped;
// element names are kept as written (no namespace handling). Nothing blocks.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cleanroom/result.h"

namespace cleanroom::aws {

struct XmlElement {
  std::string name;
  std::string text;  // the element's own character data, trimmed
  std::vector<XmlElement> children;

  // Returns the first child named `name`, or nullptr.
  const XmlElement* child(std::string_view name) const;
  // Returns the element at a '/'-separated path of child names below this
  // one, e.g. "DescribeTargetHealthResult/TargetHealthDescriptions", or
  // nullptr when a step is missing.
  const XmlElement* find(std::string_view path) const;
  // Returns the text of the element at `path` (see find), or "" when missing.
  std::string textAt(std::string_view path) const;
  // Returns every child named `name` (e.g. "member"), in document order.
  std::vector<const XmlElement*> childrenNamed(std::string_view name) const;
};

// Parses an XML document and returns its root element, or a Permanent error
// naming `what` (e.g. "elasticloadbalancing DescribeTargetHealth response")
// and where the document is malformed.
Result<XmlElement> parseXml(std::string_view document, std::string_view what);

}  // namespace cleanroom::aws
