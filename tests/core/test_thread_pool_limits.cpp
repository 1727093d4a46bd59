// Focus: a CPU thread pool that cannot start all its threads (a process or memory limit) fails with
// a ResourceError naming the thread and the flag to lower, after stopping and joining the threads
// that did start. Before, the constructor threw with running threads in its vector, which ends the
// process (std::terminate), and a run asked for 400 threads under a process limit hung.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "core/cpu/thread_pool.h"
#include "core/error.h"
#include "tests/support/sanitizer.h"

namespace moescope {
namespace {

// This process's virtual size in bytes, from /proc/self/status.
uint64_t virtual_size_bytes() {
  std::ifstream status("/proc/self/status");
  std::string key;
  uint64_t kib = 0;
  while (status >> key) {
    if (key == "VmSize:") {
      status >> kib;
      break;
    }
  }
  return kib * 1024;
}

TEST(ThreadPoolLimits, ThreadsThatCannotStartAreAResourceErrorAfterTheOthersJoin) {
  if (test::kSanitizerAllocator) GTEST_SKIP() << "sanitizers reserve terabytes of address space: RLIMIT_AS cannot apply";
  // In a child, since the limit stays with the process. Each thread reserves an 8 MiB stack, so
  // 64 MiB of address space above what the process holds lets a few of 200 threads start.
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::alarm(60);  // a hang ends the child by SIGALRM, which the parent reports
    const rlimit limit{virtual_size_bytes() + (64u << 20), RLIM_INFINITY};
    if (::setrlimit(RLIMIT_AS, &limit) != 0) ::_exit(3);
    try {
      ThreadPool pool(200);
      ::_exit(4);  // all started: the limit did not bite
    } catch (const ResourceError& e) {
      const std::string message = e.what();
      ::_exit(message.find("cannot start CPU thread") != std::string::npos &&
                      message.find("of 200") != std::string::npos &&
                      message.find("ask for fewer with --threads") != std::string::npos
                  ? 0
                  : 5);
    } catch (...) {
      ::_exit(6);
    }
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status) << " (6: std::terminate)";
  if (WEXITSTATUS(status) == 4) GTEST_SKIP() << "200 threads started within the address-space limit here";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3: setrlimit failed, 5: the message lacks the thread or the flag, "
                                       "6: another exception";
}

}  // namespace
}  // namespace moescope
