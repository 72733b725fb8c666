// The blocked-word filter's cost per comment (issue 19), with a 5,000-word list: Match and
// Contains on clean and dirty live comments, the naive baseline (one find per word on the
// normalised text), normalisation alone, and the automaton's build time and size.
//
//   build/bench/word_filter_bench [--benchmark_filter=...]
//
// Everything is generated from fixed seeds, so every run measures the same words and comments.
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "benchmark/benchmark.h"
#include "services/interaction/moderation/word_filter.h"

namespace livecommerce::interaction::moderation {
namespace {

// Common ideographs the generated words are made of; comments use them too, so the automaton
// walks real partial matches rather than idling at its root.
constexpr std::u32string_view kIdeographs =
    U"的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家"
    U"学对可里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经"
    U"头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿"
    U"者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听"
    U"世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马"
    U"命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解"
    U"各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元"
    U"社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半"
    U"候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党"
    U"倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专"
    U"石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴切";

// Words a brand's ops would really block; the dirty comments hide one of them.
const std::vector<std::string> kRealWords = {
    "微信号", "加微信", "vx",   "wx",      "私聊",  "代购",     "高仿",     "假货",
    "原单",   "莆田",   "刷单", "返现",    "淘宝",  "拼多多",   "二维码",   "加我",
    "私信我", "外链",   "fake", "replica", "dm me", "whatsapp", "telegram", "同款便宜"};

// Pieces of real-sounding live comments: Chinese, with brand and product names, sizes and emoji.
const std::vector<std::string> kFragments = {
    "主播好美",
    "这款包包有黑色吗",
    "想看一下上身效果",
    "链接在哪里",
    "可以再讲一下这个面料吗",
    "Lady Dior 有小号吗",
    "38码还有吗",
    "价格多少呀",
    "已下单",
    "好喜欢这个颜色",
    "什么时候发货",
    "可以刻字吗",
    "求返场",
    "和上一季的区别是什么",
    "包装好精致",
    "有没有礼盒",
    "主播身高多少",
    "能看下细节吗",
    "皮质是小牛皮吗",
    "适合送妈妈吗",
    "Saddle 的新款",
    "好看😍",
    "👍👍",
    "❤️❤️",
    "🔥🔥🔥",
    "太美了吧",
    "第一次看直播",
    "会员价是多少",
    "今天有优惠吗",
    "Book Tote 还有吗",
    "size M 合适吗",
    "这件 puffer 保暖吗",
    "求链接",
    "已关注",
    "刚刚抢到了🎉",
    "限量款还有吗",
    "售后怎么样",
    "支持专柜验货吗",
    "可以分期吗",
    "颜色有色差吗",
    "J'Adior 系列",
    "香水是什么味道的",
    "能试一下 30ml 的吗",
    "VIP 有专属价吗",
    "主播讲得好清楚",
    "等了好久了",
    "再上一次链接",
    "有 gift card 吗",
};

std::string Utf8(std::u32string_view s) {
  std::string out;
  for (const char32_t c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {  // nothing here is past U+FFFF
      out.push_back(static_cast<char>(0xE0 | (c >> 12)));
      out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }
  return out;
}

// Ways of writing a word so that a plain search misses it: a separator between its characters
// (spaces, symbols, a zero-width space, an emoji), and its Latin letters full-width upper case.
std::string Disguise(const std::string& word, uint32_t how) {
  static const std::vector<std::string> kBetween = {" ", "*", ".", "·", "\u200b", "😀", "-", "|"};
  std::string out;
  size_t i = 0;
  while (i < word.size()) {
    const auto c = static_cast<unsigned char>(word[i]);
    const size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (i > 0 && how % 4 != 3) {
      out += kBetween[(how / 4) % kBetween.size()];
    }
    if (how % 3 == 0 && c >= 'a' && c <= 'z') {
      out += Utf8(std::u32string(1, U'Ａ' + (c - 'a')));
    } else {
      out += word.substr(i, len);
    }
    i += len;
  }
  return out;
}

// `count` words: the real ones, then 2-6 ideographs (85 %) or 3-8 ASCII letters (15 %).
std::vector<std::string> MakeWords(size_t count) {
  std::mt19937 rng(19);
  std::vector<std::string> words(kRealWords.begin(), kRealWords.end());
  while (words.size() < count) {
    if (rng() % 100 < 85) {
      std::u32string w;
      for (size_t n = 2 + rng() % 5; n > 0; --n) {
        w.push_back(kIdeographs[rng() % kIdeographs.size()]);
      }
      words.push_back(Utf8(w));
    } else {
      std::string w;
      for (size_t n = 3 + rng() % 6; n > 0; --n) {
        w.push_back(static_cast<char>('a' + rng() % 26));
      }
      words.push_back(w);
    }
  }
  return words;
}

size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (const char c : s) {
    n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }
  return n;
}

// A comment of 30-140 characters made of fragments.
std::string MakeComment(std::mt19937& rng) {
  static const std::vector<std::string> kJoints = {"，", " ", "！", "～", "。", ""};
  const size_t target = 30 + rng() % 111;
  std::string out;
  while (CodePoints(out) < target) {
    if (!out.empty()) {
      out += kJoints[rng() % kJoints.size()];
    }
    out += kFragments[rng() % kFragments.size()];
  }
  return out;
}

struct Corpus {
  explicit Corpus(std::vector<std::string> w)
      : words(std::move(w)), filter(*WordFilter::Build(words)) {}

  std::vector<std::string> words;
  WordFilter filter;
  std::vector<std::string> normalized_words;  // for the naive baseline
  std::vector<std::string> clean;             // no word occurs in them
  std::vector<std::string> dirty;             // one disguised real word in each
  double clean_chars = 0;                     // average length in code points
  double dirty_chars = 0;
};

const Corpus& GetCorpus() {
  static const Corpus* corpus = [] {
    auto* c = new Corpus(MakeWords(5000));
    for (const std::string& w : c->words) {
      c->normalized_words.push_back(NormalizeToUtf8(w));
    }
    std::mt19937 rng(2024);
    while (c->clean.size() < 1000) {
      std::string comment = MakeComment(rng);
      if (!c->filter.Contains(comment)) {
        c->clean_chars += static_cast<double>(CodePoints(comment));
        c->clean.push_back(std::move(comment));
      }
    }
    while (c->dirty.size() < 1000) {
      std::string comment = MakeComment(rng);
      const size_t cut = comment.rfind("，", comment.size() / 2);
      const std::string word =
          Disguise(kRealWords[rng() % kRealWords.size()], static_cast<uint32_t>(rng()));
      comment.insert(cut == std::string::npos ? 0 : cut, "，" + word + "，");
      c->dirty_chars += static_cast<double>(CodePoints(comment));
      c->dirty.push_back(std::move(comment));
    }
    c->clean_chars /= static_cast<double>(c->clean.size());
    c->dirty_chars /= static_cast<double>(c->dirty.size());
    return c;
  }();
  return *corpus;
}

const std::vector<std::string>& Comments(const benchmark::State& state) {
  return state.range(0) == 0 ? GetCorpus().clean : GetCorpus().dirty;
}

void Label(benchmark::State& state, const std::vector<std::string>& comments, int64_t hits) {
  size_t bytes = 0;
  for (const std::string& c : comments) {
    bytes += c.size();
  }
  state.SetLabel(state.range(0) == 0 ? "clean" : "dirty");
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes / comments.size()));
  state.counters["chars"] = state.range(0) == 0 ? GetCorpus().clean_chars : GetCorpus().dirty_chars;
  state.counters["hit_rate"] = static_cast<double>(hits) / static_cast<double>(state.iterations());
}

void BM_Match(benchmark::State& state) {
  const WordFilter& filter = GetCorpus().filter;
  const std::vector<std::string>& comments = Comments(state);
  size_t i = 0;
  int64_t hits = 0;
  for (auto _ : state) {
    MatchResult r = filter.Match(comments[i++ % comments.size()]);
    hits += r.matched;
    benchmark::DoNotOptimize(r);
  }
  Label(state, comments, hits);
}
BENCHMARK(BM_Match)->Arg(0)->Arg(1);

void BM_Contains(benchmark::State& state) {
  const WordFilter& filter = GetCorpus().filter;
  const std::vector<std::string>& comments = Comments(state);
  size_t i = 0;
  int64_t hits = 0;
  for (auto _ : state) {
    const bool found = filter.Contains(comments[i++ % comments.size()]);
    benchmark::DoNotOptimize(found);
    hits += found;
  }
  Label(state, comments, hits);
}
BENCHMARK(BM_Contains)->Arg(0)->Arg(1);

// Normalisation alone, into a string (so with its allocation and appends): what any matcher over
// the normalised text pays first.
void BM_Normalize(benchmark::State& state) {
  const std::vector<std::string>& comments = Comments(state);
  size_t i = 0;
  for (auto _ : state) {
    std::string n = NormalizeToUtf8(comments[i++ % comments.size()]);
    benchmark::DoNotOptimize(n);
  }
  Label(state, comments, 0);
}
BENCHMARK(BM_Normalize)->Arg(0)->Arg(1);

// The naive baseline: normalise once, then one std::string::find per word (all of them, as Match
// reports every word). No Latin whole-word rule, so it is the cheapest form of the naive way.
void BM_NaiveFind(benchmark::State& state) {
  const std::vector<std::string>& words = GetCorpus().normalized_words;
  const std::vector<std::string>& comments = Comments(state);
  size_t i = 0;
  int64_t hits = 0;
  for (auto _ : state) {
    const std::string text = NormalizeToUtf8(comments[i++ % comments.size()]);
    size_t found = 0;
    for (const std::string& w : words) {
      found += text.find(w) != std::string::npos;
    }
    benchmark::DoNotOptimize(found);
    hits += found > 0;
  }
  Label(state, comments, hits);
}
BENCHMARK(BM_NaiveFind)->Arg(0)->Arg(1);

// The cost of a comment does not depend on the list's length (clean comments; the lists are the
// first N generated words, so a comment clean for 5,000 words may hit one of 20,000).
void BM_MatchListSize(benchmark::State& state) {
  const WordFilter filter = *WordFilter::Build(MakeWords(static_cast<size_t>(state.range(0))));
  const std::vector<std::string>& comments = GetCorpus().clean;
  size_t i = 0;
  for (auto _ : state) {
    MatchResult r = filter.Match(comments[i++ % comments.size()]);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["states"] = static_cast<double>(filter.state_count());
}
BENCHMARK(BM_MatchListSize)->Arg(100)->Arg(1000)->Arg(5000)->Arg(20000);

void BM_Build(benchmark::State& state) {
  const std::vector<std::string> words = MakeWords(static_cast<size_t>(state.range(0)));
  size_t states = 0;
  size_t bytes = 0;
  for (auto _ : state) {
    const WordFilter filter = *WordFilter::Build(words);
    states = filter.state_count();
    bytes = filter.MemoryBytes();
    benchmark::DoNotOptimize(states);
  }
  state.counters["states"] = static_cast<double>(states);
  state.counters["memory_KiB"] = static_cast<double>(bytes) / 1024.0;
}
BENCHMARK(BM_Build)->Arg(5000)->Arg(20000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace livecommerce::interaction::moderation

BENCHMARK_MAIN();
