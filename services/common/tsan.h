#pragma once

// Happens-before edges that ThreadSanitizer cannot see, told to it by hand.
//
// gRPC, absl and protobuf come from Debian built without ThreadSanitizer, so the ordering their
// queues and locks give is invisible to it: an object of ours made on one thread and handed by
// gRPC to another (a server interceptor made when a call arrives and destroyed by whichever
// thread finishes the call) looks like a race although gRPC orders the two. Each hand-over is
// named where it happens: the sending side calls HandOver(object) after its last write, the
// receiving side TakeOver(object) before its first access. Only that object's hand-over is
// ordered, so a real race on anything else is still reported. In a build without ThreadSanitizer
// both are empty.

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define LC_THREAD_SANITIZER 1
#endif
#endif
#if !defined(LC_THREAD_SANITIZER) && defined(__SANITIZE_THREAD__)
#define LC_THREAD_SANITIZER 1
#endif

#ifdef LC_THREAD_SANITIZER
extern "C" void __tsan_acquire(void* addr);
extern "C" void __tsan_release(void* addr);
#endif

namespace livecommerce::common {

inline void HandOver([[maybe_unused]] const void* object) {
#ifdef LC_THREAD_SANITIZER
  __tsan_release(const_cast<void*>(object));
#endif
}

inline void TakeOver([[maybe_unused]] const void* object) {
#ifdef LC_THREAD_SANITIZER
  __tsan_acquire(const_cast<void*>(object));
#endif
}

}  // namespace livecommerce::common
