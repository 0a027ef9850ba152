// Mutex types for a guest with one thread: every operation succeeds at once.
#pragma once
_LIBCPP_BEGIN_NAMESPACE_STD
struct mutex {
  constexpr mutex() noexcept = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;
  void lock() {}
  bool try_lock() { return true; }
  void unlock() {}
};
struct recursive_mutex : mutex {};
struct shared_mutex : mutex {
  void lock_shared() {}
  bool try_lock_shared() { return true; }
  void unlock_shared() {}
};
template <class M> struct shared_lock {
  explicit shared_lock(M& m) : m_(&m) { m_->lock_shared(); }
  ~shared_lock() { if (m_) m_->unlock_shared(); }
  M* m_;
};
_LIBCPP_END_NAMESPACE_STD
