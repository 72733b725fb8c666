// The blocked-word filter (services/interaction/moderation/word_filter.h): normalisation, matching
// through the usual evasions, original byte ranges, the Latin whole-word rule, invalid UTF-8 and
// the list's limits.
#include "services/interaction/moderation/word_filter.h"

#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace livecommerce::interaction::moderation {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

WordFilter MustBuild(const std::vector<std::string>& words) {
  absl::StatusOr<WordFilter> filter = WordFilter::Build(words);
  EXPECT_TRUE(filter.ok()) << filter.status();
  return *std::move(filter);
}

// The original text of each match, for checking byte ranges.
std::vector<std::string> MatchedTexts(const WordFilter& filter, std::string_view text) {
  std::vector<std::string> out;
  for (const WordMatch& m : filter.Match(text).matches) {
    EXPECT_LE(m.begin, m.end);
    EXPECT_LE(m.end, text.size());
    out.emplace_back(text.substr(m.begin, m.end - m.begin));
  }
  return out;
}

TEST(NormalizeTest, FoldsWidthAndCaseAndDropsSeparators) {
  EXPECT_EQ(NormalizeToUtf8("ＷＸ：Ａｂ１２"), "wxab12");
  EXPECT_EQ(NormalizeToUtf8("WeChat ID"), "wechatid");
  EXPECT_EQ(NormalizeToUtf8("加\u3000我，微·信•号！"), "加我微信号");
  EXPECT_EQ(NormalizeToUtf8("a*b.c-d_e|f~g/h\\i@j#k"), "abcdefghijk");
  EXPECT_EQ(NormalizeToUtf8("微😀信🔥号👍🏻"), "微信号");
  EXPECT_EQ(NormalizeToUtf8("「主播」【好看】《包》～"), "主播好看包");
  EXPECT_EQ(NormalizeToUtf8("微\u200b信\u200c号\u200d码\u2060吗\ufeff"), "微信号码吗");
  EXPECT_EQ(NormalizeToUtf8("w\u0338x\u0338"), "wx");            // combining marks
  EXPECT_EQ(NormalizeToUtf8("二〇二四年々"), "二〇二四年々");    // character-like CJK marks kept
  EXPECT_EQ(NormalizeToUtf8("Café 한국 カナ"), "café한국カナ");  // kept as they are
  EXPECT_EQ(NormalizeToUtf8(""), "");
  EXPECT_EQ(NormalizeToUtf8(" ,.!?。，、 "), "");
}

TEST(NormalizeTest, RemembersOriginalByteRanges) {
  const std::string text = "Ａ, 微\u200b信";
  const std::vector<NormalizedChar> chars = Normalize(text);
  ASSERT_EQ(chars.size(), 3u);
  EXPECT_EQ(chars[0].code_point, U'a');
  EXPECT_EQ(text.substr(chars[0].begin, chars[0].end - chars[0].begin), "Ａ");
  EXPECT_FALSE(chars[0].joined);
  EXPECT_EQ(chars[1].code_point, U'微');
  EXPECT_EQ(text.substr(chars[1].begin, chars[1].end - chars[1].begin), "微");
  EXPECT_FALSE(chars[1].joined);  // ", " between
  EXPECT_EQ(chars[2].code_point, U'信');
  EXPECT_EQ(text.substr(chars[2].begin, chars[2].end - chars[2].begin), "信");
  EXPECT_TRUE(chars[2].joined);  // only a zero-width space between
}

TEST(WordFilterTest, MatchesChineseThroughInsertedSeparators) {
  const WordFilter filter = MustBuild({"微信号"});
  EXPECT_THAT(MatchedTexts(filter, "加我微信号"), ElementsAre("微信号"));
  EXPECT_THAT(MatchedTexts(filter, "加我微 信 号"), ElementsAre("微 信 号"));
  EXPECT_THAT(MatchedTexts(filter, "加我微*信*号"), ElementsAre("微*信*号"));
  EXPECT_THAT(MatchedTexts(filter, "加我微.信-号_吧"), ElementsAre("微.信-号"));
  EXPECT_THAT(MatchedTexts(filter, "加我微·信•号"), ElementsAre("微·信•号"));
  EXPECT_THAT(MatchedTexts(filter, "加我微，信。号"), ElementsAre("微，信。号"));
  EXPECT_THAT(MatchedTexts(filter, "加我微\u3000信\u3000号"), ElementsAre("微\u3000信\u3000号"));
  EXPECT_THAT(MatchedTexts(filter, "加我微😀信🔥号"), ElementsAre("微😀信🔥号"));
  EXPECT_THAT(MatchedTexts(filter, "加我微|信|号码"), ElementsAre("微|信|号"));
  EXPECT_FALSE(filter.Match("加我微信吧").matched);
  EXPECT_FALSE(filter.Match("微博号").matched);
}

TEST(WordFilterTest, MatchesThroughZeroWidthCharacters) {
  const WordFilter filter = MustBuild({"微信号", "vx"});
  EXPECT_THAT(MatchedTexts(filter, "加我微\u200b信\u200d号"), ElementsAre("微\u200b信\u200d号"));
  EXPECT_THAT(MatchedTexts(filter, "\ufeff微\u2060信\u200c号"), ElementsAre("微\u2060信\u200c号"));
  EXPECT_THAT(MatchedTexts(filter, "加v\u200bx"), ElementsAre("v\u200bx"));
}

TEST(WordFilterTest, FullWidthHalfWidthAndCaseAreOne) {
  const WordFilter half = MustBuild({"wx"});
  EXPECT_THAT(MatchedTexts(half, "加ＷＸ"), ElementsAre("ＷＸ"));
  EXPECT_THAT(MatchedTexts(half, "加Wx"), ElementsAre("Wx"));
  EXPECT_THAT(MatchedTexts(half, "加ｗX"), ElementsAre("ｗX"));
  const WordFilter full = MustBuild({"ＷＸ"});
  EXPECT_THAT(MatchedTexts(full, "加wx"), ElementsAre("wx"));
  const WordFilter upper = MustBuild({"WeChat"});
  EXPECT_THAT(MatchedTexts(upper, "用wechat聊"), ElementsAre("wechat"));
  EXPECT_THAT(MatchedTexts(upper, "用ＷＥＣＨＡＴ聊"), ElementsAre("ＷＥＣＨＡＴ"));
  EXPECT_THAT(MatchedTexts(upper, "用W-e-C-h-A-t聊"), ElementsAre("W-e-C-h-A-t"));
}

TEST(WordFilterTest, ReportsOverlappingAndNestedWords) {
  const std::vector<std::string> words = {"微信", "信号", "微信号", "号"};
  const WordFilter filter = MustBuild(words);
  const std::string text = "加微信号";
  const MatchResult result = filter.Match(text);
  ASSERT_TRUE(result.matched);
  const size_t start = std::string("加").size();
  const size_t cjk = std::string("微").size();
  EXPECT_THAT(result.matches, ElementsAre(WordMatch{0, start, start + 2 * cjk},
                                          WordMatch{2, start, start + 3 * cjk},
                                          WordMatch{1, start + cjk, start + 3 * cjk},
                                          WordMatch{3, start + 2 * cjk, start + 3 * cjk}));
}

TEST(WordFilterTest, MatchesSharedPrefixesAndSuffixes) {
  // Failure links: "代购" must still be found after the longer "代购物" path fails.
  const WordFilter filter = MustBuild({"代购物流", "购物", "物流单号", "高仿"});
  EXPECT_THAT(MatchedTexts(filter, "代购物流单号"), ElementsAre("代购物流", "购物", "物流单号"));
  EXPECT_THAT(MatchedTexts(filter, "代购物高仿"), ElementsAre("购物", "高仿"));
}

TEST(WordFilterTest, MatchesAtTheVeryStartAndEnd) {
  const WordFilter filter = MustBuild({"假货", "ab"});
  const std::string text = "假货真的好看假货";
  const MatchResult result = filter.Match(text);
  ASSERT_EQ(result.matches.size(), 2u);
  EXPECT_EQ(result.matches[0].begin, 0u);
  EXPECT_EQ(result.matches[1].end, text.size());
  EXPECT_THAT(MatchedTexts(filter, "假货"), ElementsAre("假货"));
  EXPECT_THAT(MatchedTexts(filter, "ab"), ElementsAre("ab"));
  EXPECT_THAT(MatchedTexts(filter, "ab,ab"), ElementsAre("ab", "ab"));
}

TEST(WordFilterTest, CleanTextDoesNotMatch) {
  const WordFilter filter = MustBuild({"微信号", "加微信", "假货", "高仿", "wx", "vx", "fake"});
  for (const std::string text :
       {"这款包包有黑色吗？", "主播今天的口红色号是什么", "Lady Dior 有中号吗 😍", "想要38码的鞋",
        "微博上看到的，太美了", "信号不好，卡了", "wxyz", "faker", "", "      ", "!!!"}) {
    EXPECT_FALSE(filter.Match(text).matched) << text;
    EXPECT_THAT(filter.Match(text).matches, IsEmpty()) << text;
    EXPECT_FALSE(filter.Contains(text)) << text;
  }
}

TEST(WordFilterTest, LatinWordsMatchOnlyAsWholeWords) {
  const WordFilter filter = MustBuild({"ass", "wx", "qq123", "110", "vx号"});
  EXPECT_THAT(MatchedTexts(filter, "classic bag"), IsEmpty());
  EXPECT_THAT(MatchedTexts(filter, "passion"), IsEmpty());
  EXPECT_THAT(MatchedTexts(filter, "asset"), IsEmpty());
  EXPECT_THAT(MatchedTexts(filter, "cl\u200bass"), IsEmpty());  // invisible: still one word
  EXPECT_THAT(MatchedTexts(filter, "you ass!"), ElementsAre("ass"));
  EXPECT_THAT(MatchedTexts(filter, "ASS"), ElementsAre("ASS"));
  EXPECT_THAT(MatchedTexts(filter, "a.s.s"), ElementsAre("a.s.s"));
  EXPECT_THAT(MatchedTexts(filter, "a s s hole"), ElementsAre("a s s"));
  EXPECT_THAT(MatchedTexts(filter, "好ass啊"), ElementsAre("ass"));
  // Letters then digits is a word boundary, so WeChat ids are caught.
  EXPECT_THAT(MatchedTexts(filter, "加我wx123456"), ElementsAre("wx"));
  EXPECT_THAT(MatchedTexts(filter, "加我wxid"), IsEmpty());
  EXPECT_THAT(MatchedTexts(filter, "微信wx"), ElementsAre("wx"));
  EXPECT_THAT(MatchedTexts(filter, "qq123"), ElementsAre("qq123"));
  EXPECT_THAT(MatchedTexts(filter, "qq1234"), IsEmpty());
  EXPECT_THAT(MatchedTexts(filter, "myqq123"), IsEmpty());
  EXPECT_THAT(MatchedTexts(filter, "qq123号"), ElementsAre("qq123"));
  // Digits only and mixed words match as substrings.
  EXPECT_THAT(MatchedTexts(filter, "1101"), ElementsAre("110"));
  EXPECT_THAT(MatchedTexts(filter, "aavx号"), ElementsAre("vx号"));
}

TEST(WordFilterTest, LatinRuleHoldsForNestedLatinWords) {
  // "ab" and "b" end where "cab" does; each is judged on its own start.
  const WordFilter filter = MustBuild({"cab", "ab", "b"});
  EXPECT_THAT(MatchedTexts(filter, "cab"), ElementsAre("cab"));
  // A separator inside "cab" is an evasion of it, and also the start of a word after it.
  EXPECT_THAT(MatchedTexts(filter, "c-ab"), ElementsAre("c-ab", "ab"));
  EXPECT_THAT(MatchedTexts(filter, "ca b"), ElementsAre("ca b", "b"));
  EXPECT_THAT(MatchedTexts(filter, "xcab"), IsEmpty());
  EXPECT_THAT(MatchedTexts(filter, "cabs"), IsEmpty());
  EXPECT_TRUE(filter.Contains("x cab"));
  EXPECT_FALSE(filter.Contains("cabs"));
}

TEST(WordFilterTest, CjkWordsMatchAsSubstrings) {
  const WordFilter filter = MustBuild({"信号"});
  EXPECT_THAT(MatchedTexts(filter, "微信号码"), ElementsAre("信号"));
  EXPECT_THAT(MatchedTexts(filter, "abc信号def"), ElementsAre("信号"));
}

TEST(WordFilterTest, ByteRangesCoverTheOriginalText) {
  const WordFilter filter = MustBuild({"微信号", "ＷＸ"});
  const std::string text = "Hi！加我 微*信\u200b号: wx～谢谢";
  const MatchResult result = filter.Match(text);
  ASSERT_EQ(result.matches.size(), 2u);
  EXPECT_EQ(result.matches[0].word_index, 0u);
  EXPECT_EQ(text.substr(result.matches[0].begin, result.matches[0].end - result.matches[0].begin),
            "微*信\u200b号");
  EXPECT_EQ(result.matches[1].word_index, 1u);
  EXPECT_EQ(text.substr(result.matches[1].begin, result.matches[1].end - result.matches[1].begin),
            "wx");
  EXPECT_EQ(result.matches[0].begin, text.find("微"));
}

TEST(WordFilterTest, ManyWords) {
  // 5,000 generated Chinese and Latin words; a few planted ones must be found among them.
  const std::u32string kIdeographs =
      U"的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年";
  std::mt19937 rng(19);
  std::vector<std::string> words;
  for (int i = 0; i < 5000; ++i) {
    std::string word;
    const size_t len = 2 + rng() % 5;
    for (size_t j = 0; j < len; ++j) {
      const char32_t c = kIdeographs[rng() % kIdeographs.size()];  // all in U+0800-U+FFFF
      word.push_back(static_cast<char>(0xE0 | (c >> 12)));
      word.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      word.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
    words.push_back(i % 5 == 0 ? "latin" + std::to_string(i) + "x" : word);
  }
  words.push_back("高仿包");
  words.push_back("Replica");
  const WordFilter filter = MustBuild(words);
  EXPECT_EQ(filter.word_count(), 5002u);
  EXPECT_GT(filter.state_count(), 5000u);
  EXPECT_GT(filter.MemoryBytes(), 0u);

  const MatchResult result = filter.Match("这个是高*仿*包吗？还是REPLICA，latin15x");
  std::vector<size_t> found;
  for (const WordMatch& m : result.matches) {
    found.push_back(m.word_index);
  }
  EXPECT_THAT(found, ::testing::IsSupersetOf({size_t{5000}, size_t{5001}, size_t{15}}));
  // Every generated Chinese word is found in a text made of it, between other characters.
  for (size_t i = 1; i < 5000; i += 97) {
    if (i % 5 == 0) {
      continue;
    }
    const std::string text = "😀" + words[i] + "！";
    EXPECT_TRUE(filter.Contains(text)) << i;
    bool has_i = false;
    for (const WordMatch& m : filter.Match(text).matches) {
      has_i |= words[m.word_index] == words[i];
    }
    EXPECT_TRUE(has_i) << i;
  }
  EXPECT_FALSE(filter.Contains("Lady Dior 😍 👍 ok"));
}

TEST(WordFilterTest, DuplicatesReportTheLowestIndex) {
  const WordFilter filter = MustBuild({"假货", "假 货", "高仿", "假货"});
  const MatchResult result = filter.Match("假货");
  ASSERT_EQ(result.matches.size(), 1u);
  EXPECT_EQ(result.matches[0].word_index, 0u);
  EXPECT_EQ(filter.word_count(), 4u);
}

TEST(WordFilterTest, InvalidUtf8IsIgnoredSafely) {
  const WordFilter filter = MustBuild({"微信号", "wx"});
  // Stray continuation, overlong "/", a surrogate, a byte past U+10FFFF, overlong NUL.
  const std::string text = std::string("微\x80信\xC0\xAF号 \xED\xA0\x80") + "\xF5\x80 wx \xC0\x80";
  const MatchResult result = filter.Match(text);
  ASSERT_EQ(result.matches.size(), 2u);
  EXPECT_EQ(text.substr(result.matches[0].begin, result.matches[0].end - result.matches[0].begin),
            "微\x80信\xC0\xAF号");
  EXPECT_EQ(text.substr(result.matches[1].begin, result.matches[1].end - result.matches[1].begin),
            "wx");
  // A sequence cut short by the end of the text, in the middle of a word and at the end.
  EXPECT_FALSE(filter.Contains("\xE5\xBE"));  // the first two bytes of "微"
  EXPECT_FALSE(filter.Contains("\xF0\x9F\x98"));
  EXPECT_TRUE(filter.Contains(std::string("微信\xE5\xBE号")));
  EXPECT_EQ(NormalizeToUtf8("a\xE5\xBE"), "a");
  EXPECT_EQ(NormalizeToUtf8("\xFF\xFE\xF8\x88\x80\x80\x80"), "");
  // Surrogates are not characters: they neither join nor match.
  EXPECT_EQ(NormalizeToUtf8("\xED\xA0\x80\xED\xBF\xBF"), "");
  EXPECT_TRUE(filter.Contains("微\xED\xA0\x80信号"));
  // A sequence cut by the end of the view is not completed from the bytes after it.
  const std::string whole = "wx微信号😀";
  for (size_t cut = 0; cut <= whole.size(); ++cut) {
    const std::string_view view = std::string_view(whole).substr(0, cut);
    const std::string normalized = NormalizeToUtf8(view);
    EXPECT_EQ(normalized, NormalizeToUtf8(std::string(view))) << cut;
    EXPECT_EQ(filter.Contains(view), cut >= 2) << cut;  // "wx" is found once it is whole
    for (const NormalizedChar& c : Normalize(view)) {
      EXPECT_LE(c.end, cut);
    }
  }
  EXPECT_EQ(NormalizeToUtf8(std::string_view(whole).substr(0, 4)), "wx");  // half of "微"
  EXPECT_EQ(NormalizeToUtf8(std::string_view(whole).substr(0, whole.size() - 1)), "wx微信号");
  // A byte that starts a sequence but is followed by ASCII: the ASCII is still read.
  EXPECT_EQ(NormalizeToUtf8("\xE5wx\xC3"), "wx");
}

TEST(WordFilterTest, RandomBytesNeverBreakTheScan) {
  const WordFilter filter = MustBuild({"微信", "ab", "a", "信号", "\x80\x81wx"});
  std::mt19937 rng(7);
  const std::string alphabet = std::string("微信号ab ") + "\x80\xBF\xC2\xE0\xED\xF0\xF4\xFF";
  for (int round = 0; round < 3000; ++round) {
    std::string text;
    const size_t len = rng() % 40;
    for (size_t i = 0; i < len; ++i) {
      text.push_back(rng() % 4 == 0 ? static_cast<char>(rng() & 0xFF)
                                    : alphabet[rng() % alphabet.size()]);
    }
    const MatchResult result = filter.Match(text);
    for (const WordMatch& m : result.matches) {
      ASSERT_LT(m.begin, m.end);
      ASSERT_LE(m.end, text.size());
    }
    ASSERT_EQ(result.matched, filter.Contains(text));
    ASSERT_EQ(result.matched, !result.matches.empty());
    const std::string masked = MaskMatches(text, result.matches);
    ASSERT_EQ(masked != text, result.matched);
  }
}

TEST(WordFilterTest, MatchAndContainsAgreeOnEmptyTextAndEmptyList) {
  const WordFilter filter = MustBuild({"微信"});
  EXPECT_FALSE(filter.Match("").matched);
  EXPECT_FALSE(filter.Contains(""));
  const WordFilter none = MustBuild({});
  EXPECT_FALSE(none.Match("微信 wx 任何东西").matched);
  EXPECT_FALSE(none.Contains("微信 wx 任何东西"));
  EXPECT_EQ(none.word_count(), 0u);
}

TEST(WordFilterBuildTest, RejectsWordsEmptyAfterNormalisationNamingTheIndex) {
  for (const std::string bad : {"", "   ", "***", "😀👍", "\u200b", "，。！"}) {
    const absl::StatusOr<WordFilter> filter =
        WordFilter::Build(std::vector<std::string>{"微信", "wx", bad});
    ASSERT_FALSE(filter.ok()) << bad;
    EXPECT_EQ(filter.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(filter.status().message(), HasSubstr("words[2]"));
    EXPECT_THAT(filter.status().message(), HasSubstr("empty"));
  }
}

TEST(WordFilterBuildTest, EnforcesTheLimits) {
  std::string longest;
  for (size_t i = 0; i < kMaxWordCodePoints; ++i) {
    longest += "微";
  }
  EXPECT_TRUE(WordFilter::Build(std::vector<std::string>{longest}).ok());
  const absl::StatusOr<WordFilter> too_long =
      WordFilter::Build(std::vector<std::string>{"ok", longest + "信"});
  ASSERT_FALSE(too_long.ok());
  EXPECT_THAT(too_long.status().message(), HasSubstr("words[1]"));

  // Separators count against the byte limit, not the character limit.
  EXPECT_TRUE(
      WordFilter::Build(std::vector<std::string>{"微" + std::string(1000, ' ') + "信"}).ok());
  const absl::StatusOr<WordFilter> too_big =
      WordFilter::Build(std::vector<std::string>{"微" + std::string(kMaxWordBytes, ' ')});
  ASSERT_FALSE(too_big.ok());
  EXPECT_THAT(too_big.status().message(), HasSubstr("words[0]"));

  EXPECT_TRUE(WordFilter::Build(std::vector<std::string>(kMaxWords, "wx")).ok());
  const absl::StatusOr<WordFilter> too_many =
      WordFilter::Build(std::vector<std::string>(kMaxWords + 1, "wx"));
  ASSERT_FALSE(too_many.ok());
  EXPECT_EQ(too_many.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_many.status().message(), HasSubstr("words"));
}

TEST(WordFilterBuildTest, LongestWordMatchesAndRingHoldsIt) {
  std::string longest;
  for (size_t i = 0; i < kMaxWordCodePoints; ++i) {
    longest += static_cast<char>('a' + i % 26);
  }
  const WordFilter filter = MustBuild({longest, "微"});
  const std::string text = std::string(200, '-') + "微" + longest + "微";
  EXPECT_THAT(MatchedTexts(filter, text), ElementsAre("微", longest, "微"));
  EXPECT_THAT(MatchedTexts(filter, "z" + longest), ElementsAre());  // glued on the left
}

TEST(MaskMatchesTest, MasksEachCharacterOfEachRange) {
  const WordFilter filter = MustBuild({"微信号", "wx", "信号"});
  const std::string text = "加我微*信*号或WX吧";
  EXPECT_EQ(MaskMatches(text, filter.Match(text).matches), "加我*****或**吧");
  EXPECT_EQ(MaskMatches("干净的评论", filter.Match("干净的评论").matches), "干净的评论");
  const std::vector<WordMatch> past_end = {WordMatch{0, 3, 100}};
  EXPECT_EQ(MaskMatches("abcdef", past_end), "abc***");
}

TEST(WordFilterTest, SharedAcrossThreads) {
  const WordFilter filter = MustBuild({"微信号", "wx", "假货", "高仿"});
  const std::vector<std::string> texts = {"加我微*信*号", "干净的评论", "ＷＸ：abc", "高仿假货"};
  std::vector<MatchResult> expected;
  for (const std::string& t : texts) {
    expected.push_back(filter.Match(t));
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const size_t k = (i + t) % texts.size();
        if (filter.Match(texts[k]).matches != expected[k].matches ||
            filter.Contains(texts[k]) != expected[k].matched) {
          ++mismatches[t];
        }
      }
    });
  }
  for (std::thread& th : threads) {
    th.join();
  }
  EXPECT_THAT(mismatches, ElementsAre(0, 0, 0, 0));
  EXPECT_EQ(expected[1].matched, false);
  EXPECT_EQ(expected[3].matches.size(), 2u);
}

}  // namespace
}  // namespace livecommerce::interaction::moderation
