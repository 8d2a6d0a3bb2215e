#pragma once

// The shape every controller shares (client-go's controller pattern): event handlers put keys on
// a rate-limited queue, workers call sync(key), a failed sync is retried with per-key backoff, a
// successful one forgets the backoff. sync() is level-triggered: it reads the current state
// through the API, computes the desired state and writes the difference, so running it twice
// or after a restart converges to the same result.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "skiff/master/client/api_client.h"
#include "skiff/master/informer/clock.h"
#include "skiff/master/informer/event_recorder.h"
#include "skiff/master/informer/shared_informers.h"
#include "skiff/master/informer/workqueue.h"

namespace skiff::master {

class Controller {
 public:
  Controller(std::string name, std::shared_ptr<Clock> clock);
  virtual ~Controller();
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  const std::string& name() const { return name_; }
  WorkQueue& queue() { return queue_; }
  Clock& clock() { return *clock_; }

  // Reconciles one key; an error requeues it with backoff. May call queue().addAfter() to look
  // again later (minReadySeconds, deadlines).
  virtual Result<void> sync(const std::string& key) = 0;

  // Wires informer event handlers to queue keys; called once before the informers start.
  virtual void registerHandlers(SharedInformers& informers) { (void)informers; }

  // Registers handlers on the informer of `resource` that queue the key of every object added or
  // updated (a deleted one is not queued: there is nothing left to sync). Returns the informer.
  Informer& enqueueAddedAndUpdated(SharedInformers& informers,
                                   const GroupVersionResource& resource);
  // The same, and the key of every deleted object too (a controller that cleans up after it).
  Informer& enqueueEveryChange(SharedInformers& informers, const GroupVersionResource& resource);
  // Registers handlers on the informer of `owned` (e.g. pods) that queue the key of the object's
  // controlling owner when that owner is of `owner_kind` (ownerReferences controller=true).
  void enqueueControllerOf(SharedInformers& informers, const GroupVersionResource& owned,
                           std::string owner_kind);

  // Periodic work not tied to a key (node monitor, cron schedule); default none.
  virtual Duration resyncPeriod() const { return Duration::zero(); }
  virtual void resync() {}

  void run(int workers);
  void stop();  // joins the workers
  // Runs every ready key on the calling thread until the queue is empty (tests).
  int processPendingForTest(int max_rounds = 1000);

 private:
  Informer& enqueueKeysOf(SharedInformers& informers, const GroupVersionResource& resource,
                          bool deleted_too);
  void processOne(const std::string& key);

  std::string name_;
  std::shared_ptr<Clock> clock_;
  WorkQueue queue_;
  std::vector<std::thread> workers_;
  std::thread ticker_;
  std::atomic<bool> stopping_{false};
};

// A controller that reads and writes through one client and reports Events as `component`, the
// event source kube-controller-manager gives each controller ("deployment-controller").
class RecordingController : public Controller {
 protected:
  RecordingController(std::string name, ApiClient& client, std::shared_ptr<Clock> clock,
                      std::string component)
      : Controller(std::move(name), clock),
        client_(client),
        recorder_(client, std::move(component), std::move(clock)) {}

  ApiClient& client_;
  EventRecorder recorder_;
};

}  // namespace skiff::master
