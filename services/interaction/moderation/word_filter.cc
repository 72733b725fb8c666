#include "services/interaction/moderation/word_filter.h"

#include <algorithm>
#include <array>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace livecommerce::interaction::moderation {
namespace {

// Results of folding one code point that are not code points themselves.
constexpr char32_t kSeparator = 0xFFFFFFFF;  // dropped; breaks a Latin word
constexpr char32_t kIgnorable = 0xFFFFFFFE;  // dropped as if it were not there
constexpr char32_t kInvalid = 0xFFFFFFFD;    // a byte that starts no valid UTF-8 sequence

constexpr std::array<char32_t, 128> MakeAsciiTable() {
  std::array<char32_t, 128> table{};
  for (char32_t c = 0; c < 128; ++c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')) {
      table[c] = c;
    } else if (c >= 'A' && c <= 'Z') {
      table[c] = c - 'A' + 'a';
    } else if (c == ' ' || (c >= '\t' && c <= '\r')) {
      table[c] = kSeparator;
    } else if (c < 0x20 || c == 0x7F) {
      table[c] = kIgnorable;
    } else {
      table[c] = kSeparator;  // punctuation and symbols
    }
  }
  return table;
}
constexpr std::array<char32_t, 128> kAscii = MakeAsciiTable();

struct Range {
  char32_t first;
  char32_t last;
  char32_t kind;  // kSeparator or kIgnorable
};

// Non-ASCII code points that are not kept, sorted and disjoint (the header says why).
constexpr Range kRanges[] = {
    {0x0080, 0x009F, kIgnorable},    // C1 controls
    {0x00A0, 0x00AC, kSeparator},    // no-break space, Latin-1 punctuation and symbols
    {0x00AD, 0x00AD, kIgnorable},    // soft hyphen
    {0x00AE, 0x00BF, kSeparator},    // ® ¯ ° ± ... · ... ¿
    {0x00D7, 0x00D7, kSeparator},    // ×
    {0x00F7, 0x00F7, kSeparator},    // ÷
    {0x02B0, 0x02FF, kSeparator},    // spacing modifiers (ˊ ˇ ˋ ˙)
    {0x0300, 0x036F, kIgnorable},    // combining diacritical marks
    {0x115F, 0x1160, kIgnorable},    // Hangul fillers
    {0x1680, 0x1680, kSeparator},    // ogham space
    {0x180B, 0x180F, kIgnorable},    // Mongolian variation selectors, vowel separator
    {0x2000, 0x200A, kSeparator},    // spaces
    {0x200B, 0x200F, kIgnorable},    // zero-width space, non-joiner, joiner; LRM, RLM
    {0x2010, 0x2029, kSeparator},    // dashes, quotes, bullet •, ellipsis, line separators
    {0x202A, 0x202E, kIgnorable},    // bidi embeddings and overrides
    {0x202F, 0x205F, kSeparator},    // narrow no-break space, punctuation, medium space
    {0x2060, 0x206F, kIgnorable},    // word joiner, invisible operators, bidi isolates
    {0x20A0, 0x20CF, kSeparator},    // currency signs
    {0x20D0, 0x20FF, kIgnorable},    // combining marks for symbols (the keycap)
    {0x2190, 0x245F, kSeparator},    // arrows, operators, technical, control pictures
    {0x2500, 0x2BFF, kSeparator},    // box drawing ... dingbats, braille, arrows
    {0x2E00, 0x2E7F, kSeparator},    // supplemental punctuation
    {0x3000, 0x3004, kSeparator},    // ideographic space, 、 。 〃 〄
    {0x3008, 0x3020, kSeparator},    // brackets, 〒 〓 〜, quotes, 〠
    {0x302A, 0x302F, kIgnorable},    // combining tone marks
    {0x3030, 0x3030, kSeparator},    // 〰
    {0x3036, 0x3037, kSeparator},    // 〶, telegraph line feed
    {0x303D, 0x303F, kSeparator},    // 〽, variation indicator, half fill space
    {0x30A0, 0x30A0, kSeparator},    // katakana double hyphen
    {0x30FB, 0x30FB, kSeparator},    // katakana middle dot ・
    {0x3164, 0x3164, kIgnorable},    // Hangul filler
    {0xFE00, 0xFE0F, kIgnorable},    // variation selectors
    {0xFE10, 0xFE1F, kSeparator},    // vertical forms
    {0xFE20, 0xFE2F, kIgnorable},    // combining half marks
    {0xFE30, 0xFE6F, kSeparator},    // CJK compatibility forms, small forms
    {0xFEFF, 0xFEFF, kIgnorable},    // zero-width no-break space (BOM)
    {0xFF5F, 0xFF65, kSeparator},    // full-width parentheses, half-width CJK punctuation
    {0xFFA0, 0xFFA0, kIgnorable},    // half-width Hangul filler
    {0xFFE0, 0xFFEE, kSeparator},    // full-width signs, half-width symbols
    {0xFFF0, 0xFFFB, kIgnorable},    // specials, interlinear annotation
    {0xFFFC, 0xFFFD, kSeparator},    // object replacement, replacement character
    {0x1F000, 0x1FBFF, kSeparator},  // emoji, pictographs, skin tones, regional indicators
    {0xE0000, 0xE007F, kIgnorable},  // tags
    {0xE0100, 0xE01EF, kIgnorable},  // variation selectors supplement
};

char32_t FoldRare(char32_t cp) {
  if (cp == kInvalid) {
    return kIgnorable;
  }
  if (cp >= 0xFF01 && cp <= 0xFF5E) {
    return kAscii[cp - 0xFEE0];  // full-width ASCII
  }
  const Range* it = std::upper_bound(std::begin(kRanges), std::end(kRanges), cp,
                                     [](char32_t c, const Range& r) { return c < r.first; });
  if (it != std::begin(kRanges) && cp <= (it - 1)->last) {
    return (it - 1)->kind;
  }
  return cp;
}

// What a decoded code point (or kInvalid) normalises to: a kept code point, kSeparator or
// kIgnorable.
inline char32_t Fold(char32_t cp) {
  if (cp < 0x80) {
    return kAscii[cp];
  }
  if (cp >= 0x3400 && cp <= 0x9FFF) {
    return cp;  // CJK ideographs, the common case
  }
  return FoldRare(cp);
}

// Decodes the sequence starting at p[0] (p[0] >= 0x80; n >= 1 bytes available). Sets *len to the
// bytes consumed: the sequence, or 1 for an invalid byte so that decoding resumes right after it.
inline char32_t DecodeMultibyte(const unsigned char* p, size_t n, size_t* len) {
  const unsigned c = p[0];
  *len = 1;
  if (c >= 0xE0 && c <= 0xEF) {  // three bytes: CJK, the common case
    // No overlong forms (E0 needs A0..BF) and no surrogates (ED needs 80..9F).
    const unsigned lo = c == 0xE0 ? 0xA0 : 0x80;
    const unsigned hi = c == 0xED ? 0x9F : 0xBF;
    if (n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80) {
      *len = 3;
      return ((c & 0x0F) << 12) | ((p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    }
  } else if (c >= 0xC2 && c <= 0xDF) {
    if (n >= 2 && (p[1] & 0xC0) == 0x80) {
      *len = 2;
      return ((c & 0x1F) << 6) | (p[1] & 0x3F);
    }
  } else if (c >= 0xF0 && c <= 0xF4) {
    // No overlong forms (F0 needs 90..BF) and nothing past U+10FFFF (F4 needs 80..8F).
    const unsigned lo = c == 0xF0 ? 0x90 : 0x80;
    const unsigned hi = c == 0xF4 ? 0x8F : 0xBF;
    if (n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 && (p[3] & 0xC0) == 0x80) {
      *len = 4;
      return ((c & 0x07) << 18) | ((p[1] & 0x3F) << 12) | ((p[2] & 0x3F) << 6) | (p[3] & 0x3F);
    }
  }
  return kInvalid;
}

// Calls f(code_point, begin, end, joined) for each kept code point of `text`, in order, until f
// returns false.
template <typename F>
inline void ForEachNormalized(std::string_view text, F&& f) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const size_t n = text.size();
  size_t pos = 0;
  bool joined = false;
  while (pos < n) {
    const size_t begin = pos;
    char32_t cp;
    if (p[pos] < 0x80) {
      cp = kAscii[p[pos]];
      ++pos;
    } else {
      size_t len;
      cp = Fold(DecodeMultibyte(p + pos, n - pos, &len));
      pos += len;
    }
    if (cp == kSeparator) {
      joined = false;
      continue;
    }
    if (cp == kIgnorable) {
      continue;
    }
    if (!f(cp, begin, pos, joined)) {
      return;
    }
    joined = true;
  }
}

void AppendUtf8(char32_t cp, std::string* out) {
  char buf[4];
  size_t n = 0;
  if (cp < 0x80) {
    buf[n++] = static_cast<char>(cp);
  } else if (cp < 0x800) {
    buf[n++] = static_cast<char>(0xC0 | (cp >> 6));
    buf[n++] = static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    buf[n++] = static_cast<char>(0xE0 | (cp >> 12));
    buf[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    buf[n++] = static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    buf[n++] = static_cast<char>(0xF0 | (cp >> 18));
    buf[n++] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    buf[n++] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    buf[n++] = static_cast<char>(0x80 | (cp & 0x3F));
  }
  out->append(buf, n);
}

// For the Latin whole-word rule: an edge of a word is glued to its neighbour when both are
// letters or both are digits.
enum CharClass : uint8_t { kOther = 0, kLetter = 1, kDigit = 2 };

CharClass ClassOf(char32_t cp) {
  if (cp >= 'a' && cp <= 'z') {
    return kLetter;
  }
  if (cp >= '0' && cp <= '9') {
    return kDigit;
  }
  return kOther;
}

constexpr uint32_t kNoWord = 0xFFFFFFFF;
constexpr size_t kLinearScanMax = 8;  // edges searched one by one up to this many, else bisected
// The last kRing normalised code points are remembered while scanning: enough for a word's first
// character and the one before it.
constexpr size_t kRing = 128;
static_assert(kRing > kMaxWordCodePoints);

// A Latin word's occurrence whose end is not yet known to be a whole-word end: that depends on
// the next code point.
struct Pending {
  uint32_t word_index;
  size_t begin;
};

}  // namespace

std::vector<NormalizedChar> Normalize(std::string_view text) {
  std::vector<NormalizedChar> out;
  ForEachNormalized(text, [&](char32_t cp, size_t begin, size_t end, bool joined) {
    out.push_back(NormalizedChar{cp, begin, end, joined});
    return true;
  });
  return out;
}

std::string NormalizeToUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  ForEachNormalized(text, [&](char32_t cp, size_t, size_t, bool) {
    AppendUtf8(cp, &out);
    return true;
  });
  return out;
}

absl::StatusOr<WordFilter> WordFilter::Build(std::span<const std::string> words) {
  if (words.size() > kMaxWords) {
    return absl::InvalidArgumentError(
        absl::StrCat("words: ", words.size(), " words, more than the limit of ", kMaxWords));
  }
  std::vector<std::vector<char32_t>> normalized(words.size());
  std::vector<char32_t> alphabet;
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i].size() > kMaxWordBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("words[", i, "]: longer than ", kMaxWordBytes, " bytes"));
    }
    ForEachNormalized(words[i], [&](char32_t cp, size_t, size_t, bool) {
      normalized[i].push_back(cp);
      return normalized[i].size() <= kMaxWordCodePoints;
    });
    if (normalized[i].empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "words[", i,
          "]: empty after normalisation (only spaces, punctuation, symbols or emoji)"));
    }
    if (normalized[i].size() > kMaxWordCodePoints) {
      return absl::InvalidArgumentError(absl::StrCat(
          "words[", i, "]: longer than ", kMaxWordCodePoints, " characters after normalisation"));
    }
    alphabet.insert(alphabet.end(), normalized[i].begin(), normalized[i].end());
  }
  std::sort(alphabet.begin(), alphabet.end());
  alphabet.erase(std::unique(alphabet.begin(), alphabet.end()), alphabet.end());

  WordFilter filter;
  filter.word_count_ = words.size();
  filter.page_of_.assign((0x10FFFF >> 8) + 1, 0);
  filter.pages_.assign(256, 0);
  for (size_t i = 0; i < alphabet.size(); ++i) {
    const char32_t cp = alphabet[i];
    uint16_t& page = filter.page_of_[cp >> 8];
    if (page == 0) {
      page = static_cast<uint16_t>(filter.pages_.size() / 256);
      filter.pages_.resize(filter.pages_.size() + 256, 0);
    }
    filter.pages_[(static_cast<size_t>(page) << 8) | (cp & 0xFF)] = static_cast<uint32_t>(i + 1);
  }

  // The trie, with states numbered in insertion order (0 is the root).
  absl::flat_hash_map<uint64_t, uint32_t> trie;
  std::vector<Terminal> terminal(1, Terminal{kNoWord, 0, false});
  for (size_t i = 0; i < normalized.size(); ++i) {
    uint32_t s = 0;
    bool letters = false;
    bool alnum = true;
    for (const char32_t cp : normalized[i]) {
      const CharClass cls = ClassOf(cp);
      letters |= cls == kLetter;
      alnum &= cls != kOther;
      const uint64_t key = (static_cast<uint64_t>(s) << 32) | filter.Symbol(cp);
      auto [it, inserted] = trie.try_emplace(key, static_cast<uint32_t>(terminal.size()));
      if (inserted) {
        terminal.push_back(Terminal{kNoWord, 0, false});
      }
      s = it->second;
    }
    if (terminal[s].word_index == kNoWord) {  // duplicates keep the lowest index
      terminal[s] = Terminal{static_cast<uint32_t>(i), static_cast<uint8_t>(normalized[i].size()),
                             letters && alnum};
    }
  }
  const size_t n = terminal.size();
  std::vector<std::vector<Edge>> children(n);
  for (const auto& [key, target] : trie) {
    children[key >> 32].push_back(Edge{static_cast<uint32_t>(key & 0xFFFFFFFF), target});
  }
  for (auto& c : children) {
    std::sort(c.begin(), c.end(), [](const Edge& a, const Edge& b) { return a.symbol < b.symbol; });
  }
  auto child = [&](uint32_t s, uint32_t symbol) -> uint32_t {
    const auto& c = children[s];
    auto it = std::lower_bound(c.begin(), c.end(), symbol,
                               [](const Edge& e, uint32_t sym) { return e.symbol < sym; });
    return it != c.end() && it->symbol == symbol ? it->target : 0;
  };

  // Failure and dictionary links, breadth first (a state's links need its parent's).
  std::vector<uint32_t> fail(n, 0);
  std::vector<uint32_t> dict(n, 0);
  std::vector<uint32_t> order;
  order.reserve(n);
  order.push_back(0);
  for (size_t q = 0; q < order.size(); ++q) {
    const uint32_t s = order[q];
    for (const Edge& e : children[s]) {
      uint32_t f = 0;
      if (s != 0) {
        f = fail[s];
        while (f != 0 && child(f, e.symbol) == 0) {
          f = fail[f];
        }
        f = child(f, e.symbol);
      }
      fail[e.target] = f;
      dict[e.target] = terminal[f].word_index != kNoWord ? f : dict[f];
      order.push_back(e.target);
    }
  }

  // The flat automaton, renumbered in breadth-first order so that the shallow states, where a
  // scan spends most of its time, sit together.
  std::vector<uint32_t> id(n);
  for (size_t i = 0; i < n; ++i) {
    id[order[i]] = static_cast<uint32_t>(i);
  }
  filter.root_next_.assign(alphabet.size() + 1, 0);
  for (const Edge& e : children[0]) {
    filter.root_next_[e.symbol] = id[e.target];
  }
  filter.states_.resize(n + 1);
  filter.terminals_.resize(n);
  filter.edges_.reserve(n - 1 - children[0].size());
  for (size_t i = 0; i < n; ++i) {
    const uint32_t s = order[i];
    State& state = filter.states_[i];
    state.edge_begin = static_cast<uint32_t>(filter.edges_.size());
    if (s != 0) {
      for (const Edge& e : children[s]) {
        filter.edges_.push_back(Edge{e.symbol, id[e.target]});
      }
    }
    state.fail = id[fail[s]];
    state.dict_link = dict[s] != 0 ? id[dict[s]] : 0;
    state.out_head = terminal[s].word_index != kNoWord ? static_cast<uint32_t>(i) : state.dict_link;
    filter.terminals_[i] = terminal[s];
  }
  filter.states_[n].edge_begin = static_cast<uint32_t>(filter.edges_.size());
  return filter;
}

uint32_t WordFilter::Next(uint32_t state, uint32_t symbol) const {
  while (state != 0) {
    const Edge* first = edges_.data() + states_[state].edge_begin;
    const Edge* last = edges_.data() + states_[state + 1].edge_begin;
    if (static_cast<size_t>(last - first) <= kLinearScanMax) {
      for (const Edge* e = first; e != last; ++e) {
        if (e->symbol == symbol) {
          return e->target;
        }
      }
    } else {
      const Edge* e = std::lower_bound(
          first, last, symbol, [](const Edge& edge, uint32_t sym) { return edge.symbol < sym; });
      if (e != last && e->symbol == symbol) {
        return e->target;
      }
    }
    state = states_[state].fail;
  }
  return root_next_[symbol];
}

// One pass over `text`, calling sink(WordMatch) for each occurrence until it returns false.
template <typename Sink>
void WordFilter::Scan(std::string_view text, Sink&& sink) const {
  struct Slot {
    size_t begin;
    CharClass cls;
    bool joined;
  };
  std::array<Slot, kRing> ring;
  // At most one Latin word per length ends at one position.
  std::array<Pending, kMaxWordCodePoints> pending;
  size_t pending_count = 0;
  size_t pending_end = 0;
  size_t count = 0;  // code points seen so far
  uint32_t state = 0;
  bool stopped = false;

  ForEachNormalized(text, [&](char32_t cp, size_t begin, size_t end, bool joined) {
    const CharClass cls = ClassOf(cp);
    if (pending_count > 0) {
      const bool glued = joined && cls != kOther && cls == ring[(count - 1) % kRing].cls;
      for (size_t i = 0; i < pending_count && !glued; ++i) {
        if (!sink(WordMatch{pending[i].word_index, pending[i].begin, pending_end})) {
          stopped = true;
          return false;
        }
      }
      pending_count = 0;
    }
    ring[count % kRing] = Slot{begin, cls, joined};
    const uint32_t symbol = Symbol(cp);
    if (symbol == 0) {
      state = 0;  // a character in no word: nothing can continue through it
    } else if (state == 0) {
      state = root_next_[symbol];
    } else {
      state = Next(state, symbol);
    }
    for (uint32_t t = states_[state].out_head; t != 0; t = states_[t].dict_link) {
      const Terminal& word = terminals_[t];
      const size_t first = count + 1 - word.length;
      const Slot& head = ring[first % kRing];
      if (!word.latin) {
        if (!sink(WordMatch{word.word_index, head.begin, end})) {
          stopped = true;
          return false;
        }
        continue;
      }
      if (head.joined && head.cls == ring[(first - 1) % kRing].cls) {
        continue;  // the text continues the word before its start
      }
      pending[pending_count++] = Pending{word.word_index, head.begin};
      pending_end = end;
    }
    ++count;
    return true;
  });
  for (size_t i = 0; i < pending_count && !stopped; ++i) {
    if (!sink(WordMatch{pending[i].word_index, pending[i].begin, pending_end})) {
      return;
    }
  }
}

MatchResult WordFilter::Match(std::string_view text) const {
  MatchResult result;
  Scan(text, [&](const WordMatch& m) {
    result.matches.push_back(m);
    return true;
  });
  std::sort(
      result.matches.begin(), result.matches.end(), [](const WordMatch& a, const WordMatch& b) {
        return std::tie(a.begin, a.end, a.word_index) < std::tie(b.begin, b.end, b.word_index);
      });
  result.matched = !result.matches.empty();
  return result;
}

bool WordFilter::Contains(std::string_view text) const {
  bool found = false;
  Scan(text, [&](const WordMatch&) {
    found = true;
    return false;
  });
  return found;
}

size_t WordFilter::MemoryBytes() const {
  return page_of_.capacity() * sizeof(uint16_t) + pages_.capacity() * sizeof(uint32_t) +
         root_next_.capacity() * sizeof(uint32_t) + states_.capacity() * sizeof(State) +
         edges_.capacity() * sizeof(Edge) + terminals_.capacity() * sizeof(Terminal);
}

std::string MaskMatches(std::string_view text, std::span<const WordMatch> matches) {
  std::vector<std::pair<size_t, size_t>> ranges;
  ranges.reserve(matches.size());
  for (const WordMatch& m : matches) {
    const size_t end = std::min(m.end, text.size());
    if (m.begin < end) {
      ranges.emplace_back(m.begin, end);
    }
  }
  std::sort(ranges.begin(), ranges.end());
  std::string out;
  out.reserve(text.size());
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  size_t pos = 0;
  size_t r = 0;
  while (pos < text.size()) {
    size_t len = 1;
    if (p[pos] >= 0x80) {
      DecodeMultibyte(p + pos, text.size() - pos, &len);
    }
    while (r < ranges.size() && ranges[r].second <= pos) {
      ++r;
    }
    if (r < ranges.size() && ranges[r].first <= pos) {
      out.push_back('*');
    } else {
      out.append(text.substr(pos, len));
    }
    pos += len;
  }
  return out;
}

}  // namespace livecommerce::interaction::moderation
