#pragma once

// A brand's blocked-word filter for live comments (issue 19). Pure logic, no I/O: the words come
// from the brand's list (managed by ops), a comment goes in, the matches come out.
//
// Normalisation (the same for the words and for the comments), over UTF-8 decoded here:
// - full-width ASCII (U+FF01-U+FF5E) becomes ASCII, and ASCII letters are folded to lower case,
//   so "ＷＸ", "Wx" and "wx" are one word;
// - separators are dropped: whitespace (the ideographic space U+3000 too), ASCII punctuation and
//   symbols, Latin-1 punctuation and symbols (the middle dot U+00B7, "×"), general punctuation
//   (dashes, quotes, the bullet "•"), currency signs, arrows, mathematical operators, box drawing,
//   geometric shapes, miscellaneous symbols and dingbats (U+2190-U+245F, U+2500-U+2BFF), CJK
//   punctuation (U+3000-U+303F but for the character-like 々〆〇, the Hangzhou numerals and the
//   kana repeat marks), the katakana middle dot, vertical and small forms, full-width
//   punctuation, and the emoji and pictograph blocks (U+1F000-U+1FBFF). Emoji are treated as
//   separators because they are the commonest thing put between the characters of a word in a
//   live comment; the price is that an emoji cannot itself be a blocked word (it normalises to
//   nothing and is refused);
// - invisible characters are ignored altogether: zero-width characters (U+200B-U+200D, U+2060,
//   U+FEFF), other format and bidi controls, control characters, the soft hyphen, combining marks
//   (so "w̸x̸" is "wx"), variation selectors, emoji tags and Hangul fillers;
// - invalid UTF-8 (a stray continuation byte, a truncated or overlong sequence, a surrogate, a
//   value past U+10FFFF) is ignored byte by byte, like an invisible character; nothing reads past
//   the text;
// - everything else is kept as it is: digits, letters, CJK ideographs, kana, Hangul.
// Not covered: traditional/simplified Chinese variants, homophones and pinyin, look-alike letters
// from other scripts (Cyrillic "е" for "e"), circled letters (Ⓦ), half-width katakana.
//
// Latin words. A word made only of ASCII letters and digits, with at least one letter ("ass",
// "wx", "qq123"), matches only as a whole word: not when the text continues it with a letter on
// a letter side or a digit on a digit side without a separator in between. So "ass" does not
// match in "class" or "passion", but "wx" matches in "加我wx123" (letters then digits) and in
// "微信wx" (CJK next to it), and "a.s.s" and "a s s" still match "ass" (the separators are what
// was inserted). An invisible character does not separate ("cl\u200bass" does not match "ass").
// The price: a spaced-out "c l a s s" matches "ass" too. Spacing out an English word is rare in
// these comments; missing "a s s" would be worse.
// Every other word (anything with a CJK character, or digits only) matches as a substring, which
// is right for Chinese, which has no spaces between words.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace livecommerce::interaction::moderation {

// Limits on a list. The caller also limits a comment (a few KB); the filter is linear in it.
inline constexpr size_t kMaxWords = 20000;
inline constexpr size_t kMaxWordCodePoints = 64;  // after normalisation
inline constexpr size_t kMaxWordBytes = 1024;     // before

// One code point of normalised text and the bytes of the original text it came from.
struct NormalizedChar {
  char32_t code_point = 0;
  size_t begin = 0;  // byte offset of its first byte in the original text
  size_t end = 0;    // one past its last byte
  // True when the previous kept code point comes right before it in the original text, with
  // nothing but invisible characters in between (no separator); false for the first one.
  bool joined = false;
};

// The normalised form of `text`, each code point with its original byte range.
std::vector<NormalizedChar> Normalize(std::string_view text);

// The normalised form of `text` encoded as UTF-8 (for display, tests and the naive baseline).
std::string NormalizeToUtf8(std::string_view text);

// One occurrence of a blocked word in a comment.
struct WordMatch {
  // Index of the word in the list the filter was built from. Words that normalise to the same
  // text ("微信", "微 信") are one word: the lowest index is reported.
  size_t word_index = 0;
  // Byte range in the original comment, from the first byte of the word's first character to
  // the last byte of its last; separators inserted between its characters are inside it.
  size_t begin = 0;
  size_t end = 0;

  friend bool operator==(const WordMatch&, const WordMatch&) = default;
};

struct MatchResult {
  bool matched = false;
  // Every occurrence, overlapping and nested ones included, ordered by begin, then end, then
  // word_index.
  std::vector<WordMatch> matches;
};

// An Aho-Corasick automaton over normalised code points, built once from a brand's list and
// immutable afterwards: every method is const and safe to call from many threads at once. A
// comment costs one pass over its bytes, whatever the length of the list (plus the occurrences
// reported, at most kMaxWordCodePoints per character). A new list means a new filter (callers
// swap a std::shared_ptr<const WordFilter>).
class WordFilter final {
 public:
  // Builds the filter. INVALID_ARGUMENT, naming the index, when the list has more than kMaxWords
  // words, or a word is longer than kMaxWordBytes, is empty after normalisation (only spaces,
  // punctuation, symbols or emoji) or longer than kMaxWordCodePoints after it. Duplicates are
  // accepted. An empty list gives a filter that matches nothing.
  static absl::StatusOr<WordFilter> Build(std::span<const std::string> words);

  // Every occurrence of every word in `text`.
  MatchResult Match(std::string_view text) const;

  // Whether any word occurs in `text`; stops at the first occurrence and allocates nothing.
  bool Contains(std::string_view text) const;

  size_t word_count() const { return word_count_; }
  size_t state_count() const { return states_.size() - 1; }
  // Heap bytes held by the automaton.
  size_t MemoryBytes() const;

 private:
  struct State {
    uint32_t edge_begin = 0;  // its edges are edges_[edge_begin, next state's edge_begin)
    uint32_t fail = 0;
    uint32_t out_head = 0;   // itself if a word ends here, else dict_link; 0 when none
    uint32_t dict_link = 0;  // the longest proper suffix state where a word ends; 0 when none
  };
  struct Edge {
    uint32_t symbol = 0;
    uint32_t target = 0;
  };
  struct Terminal {
    uint32_t word_index = 0;
    uint8_t length = 0;  // in code points
    bool latin = false;  // the whole-word rule applies
  };

  WordFilter() = default;

  uint32_t Symbol(char32_t cp) const {
    return pages_[(static_cast<uint32_t>(page_of_[cp >> 8]) << 8) | (cp & 0xFF)];
  }
  uint32_t Next(uint32_t state, uint32_t symbol) const;
  template <typename Sink>
  void Scan(std::string_view text, Sink&& sink) const;

  size_t word_count_ = 0;
  // Code point -> symbol (1..alphabet size; 0 for code points in no word), in two levels:
  // page_of_ maps cp >> 8 to a page of 256 symbols, page 0 being all zeros.
  std::vector<uint16_t> page_of_;
  std::vector<uint32_t> pages_;
  std::vector<uint32_t> root_next_;  // the root's transitions, dense over the alphabet
  // States in breadth-first order (the root is 0), plus one sentinel closing the edge ranges.
  std::vector<State> states_;
  std::vector<Edge> edges_;          // per state, sorted by symbol
  std::vector<Terminal> terminals_;  // per state; meaningful where a word ends
};

// `text` with every character inside a match's byte range replaced by one '*' (for ops' audit
// display); overlapping ranges are fine, ranges past the end are clipped.
std::string MaskMatches(std::string_view text, std::span<const WordMatch> matches);

}  // namespace livecommerce::interaction::moderation
