// XmlElement over Boost.PropertyTree's XML parser (cleanroom/aws/xml.h).
#include "cleanroom/aws/xml.h"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <sstream>

namespace cleanroom::aws {
namespace {

namespace pt = boost::property_tree;

std::string trimmed(const std::string& text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

XmlElement toElement(const std::string& name, const pt::ptree& tree) {
  XmlElement element;
  element.name = name;
  element.text = trimmed(tree.data());
  for (const auto& [childName, child] : tree) {
    if (childName == "<xmlattr>" || childName == "<xmlcomment>") continue;
    element.children.push_back(toElement(childName, child));
  }
  return element;
}

}  // namespace

const XmlElement* XmlElement::child(std::string_view childName) const {
  for (const auto& element : children) {
    if (element.name == childName) return &element;
  }
  return nullptr;
}

const XmlElement* XmlElement::find(std::string_view path) const {
  const XmlElement* current = this;
  while (current && !path.empty()) {
    const auto slash = path.find('/');
    current = current->child(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
  }
  return current;
}

std::string XmlElement::textAt(std::string_view path) const {
  const auto* element = find(path);
  return element ? element->text : "";
}

std::vector<const XmlElement*> XmlElement::childrenNamed(std::string_view childName) const {
  std::vector<const XmlElement*> out;
  for (const auto& element : children) {
    if (element.name == childName) out.push_back(&element);
  }
  return out;
}

Result<XmlElement> parseXml(std::string_view document, std::string_view what) {
  pt::ptree tree;
  try {
    std::istringstream in{std::string(document)};
    pt::read_xml(in, tree, pt::xml_parser::no_comments);
  } catch (const pt::xml_parser_error& error) {
    return Error::permanent(std::string(what) + " is not well-formed XML: " + error.message() + " (line " +
                            std::to_string(error.line()) + ")");
  }
  for (const auto& [name, child] : tree) {
    if (name == "<xmlcomment>" || name == "<xmlattr>") continue;
    return toElement(name, child);
  }
  return Error::permanent(std::string(what) + " has no XML root element");
}

}  // namespace cleanroom::aws
