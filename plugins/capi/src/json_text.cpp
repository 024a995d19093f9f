// json_text.cpp — a recursive-descent reader over std::string positions (depth-limited).
#include "json_text.h"

#include <cstdint>
#include <stdexcept>

namespace comix {
namespace capi {
namespace json {
namespace {

struct Bad : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr int kMaxDepth = 64;

class Reader {
 public:
  explicit Reader(const std::string& text) : s_(text) {}

  void space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t'))
      ++pos_;
  }
  char peek() {
    space();
    if (pos_ >= s_.size()) throw Bad("it ends early");
    return s_[pos_];
  }
  void expect(char c) {
    if (peek() != c)
      throw Bad(std::string("got '") + s_[pos_] + "' at character " + std::to_string(pos_) + ", expected '" +
                c + "'");
    ++pos_;
  }
  bool at_end() {
    space();
    return pos_ >= s_.size();
  }
  std::size_t pos() const { return pos_; }

  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) throw Bad("a string is not closed");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) throw Bad("a string holds a control character");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) throw Bad("a string ends in an escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          out += e;
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u':
          utf8(code_point(), out);
          break;
        default:
          throw Bad(std::string("a string has the unknown escape \\") + e);
      }
    }
  }

  // Skips one value of any kind.
  void value(int depth = 0) {
    if (depth > kMaxDepth) throw Bad("it nests deeper than 64 levels");
    const char c = peek();
    if (c == '"') {
      string();
    } else if (c == '[' || c == '{') {
      const char close = c == '[' ? ']' : '}';
      ++pos_;
      if (peek() == close) {
        ++pos_;
        return;
      }
      while (true) {
        if (close == '}') {
          string();
          expect(':');
        }
        value(depth + 1);
        if (peek() == close) {
          ++pos_;
          return;
        }
        expect(',');
      }
    } else {
      const std::size_t start = pos_;
      while (pos_ < s_.size() && std::string("+-.0123456789eEtruefalsn").find(s_[pos_]) != std::string::npos)
        ++pos_;
      if (pos_ == start)
        throw Bad(std::string("got '") + c + "' at character " + std::to_string(pos_) + ", expected a value");
    }
  }

 private:
  unsigned hex4() {
    if (pos_ + 4 > s_.size()) throw Bad("a \\u escape is cut short");
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = s_[pos_++];
      v <<= 4;
      if (h >= '0' && h <= '9')
        v |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f')
        v |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F')
        v |= static_cast<unsigned>(h - 'A' + 10);
      else
        throw Bad("a \\u escape has a non-hex digit");
    }
    return v;
  }
  std::uint32_t code_point() {
    const unsigned high = hex4();
    if (high < 0xD800 || high > 0xDFFF) return high;
    if (high > 0xDBFF || pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u') {
      throw Bad("a \\u escape is an unpaired surrogate");
    }
    pos_ += 2;
    const unsigned low = hex4();
    if (low < 0xDC00 || low > 0xDFFF) throw Bad("a \\u escape is an unpaired surrogate");
    return 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
  }
  static void utf8(std::uint32_t cp, std::string& out) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  const std::string& s_;
  std::size_t pos_ = 0;
};

template <typename Body>
std::string guarded(const char* what, Body body) {
  try {
    body();
    return "";
  } catch (const Bad& error) {
    return std::string("not valid JSON ") + what + " (" + error.what() + ")";
  }
}

}  // namespace

std::string string_array(const std::string& text, std::vector<std::string>& out) {
  out.clear();
  return guarded("string array", [&] {
    Reader r(text);
    r.expect('[');
    if (r.peek() == ']') {
      r.expect(']');
    } else {
      while (true) {
        out.push_back(r.string());
        if (r.peek() == ']') {
          r.expect(']');
          break;
        }
        r.expect(',');
      }
    }
    if (!r.at_end()) throw Bad("text follows the array");
  });
}

std::string members(const std::string& text, std::vector<std::pair<std::string, std::string>>& out) {
  out.clear();
  return guarded("object", [&] {
    Reader r(text);
    r.expect('{');
    if (r.peek() == '}') {
      r.expect('}');
    } else {
      while (true) {
        std::string name = r.string();
        r.expect(':');
        r.space();
        const std::size_t start = r.pos();
        r.value(1);
        out.emplace_back(std::move(name), text.substr(start, r.pos() - start));
        if (r.peek() == '}') {
          r.expect('}');
          break;
        }
        r.expect(',');
      }
    }
    if (!r.at_end()) throw Bad("text follows the object");
  });
}

std::string member(const std::string& text, const std::string& key, std::string& out, bool& found) {
  found = false;
  out.clear();
  std::vector<std::pair<std::string, std::string>> all;
  std::string error = members(text, all);
  if (!error.empty()) return error;
  for (auto& entry : all) {
    if (entry.first == key) {
      out = std::move(entry.second);
      found = true;
      break;
    }
  }
  return "";
}

std::string string_value(const std::string& text, std::string& out) {
  return guarded("string", [&] {
    Reader r(text);
    out = r.string();
    if (!r.at_end()) throw Bad("text follows the string");
  });
}

}  // namespace json
}  // namespace capi
}  // namespace comix
