// Polling while something runs: 1 s, then backing off ×1.5 to 10 s; stops when nothing runs;
// pauses while the tab is hidden and refreshes at once when it is shown again.
// <html data-polling="on|off|paused"> tells tests (and the curious) what it is doing.

export const FIRST_DELAY_MS = 1000;
export const MAX_DELAY_MS = 10000;
export const BACKOFF = 1.5;

/** ``refresh`` fetches and renders, resolving true while anything is still running. */
export function poller(refresh) {
  let delay = FIRST_DELAY_MS;
  let timer = null;
  let wanted = false;
  let disposed = false;
  let loop = 0; // bumped by every (re)start, so an older loop awaiting refresh() ends instead of running alongside

  const state = (value) => {
    document.documentElement.dataset.polling = value;
  };

  async function tick() {
    timer = null;
    const mine = loop;
    if (disposed) return;
    if (document.hidden) {
      state("paused");
      return;
    }
    let running = true;
    try {
      running = await refresh();
    } catch {
      running = true; // a failed refresh is retried with the back-off
    }
    if (disposed || mine !== loop) return;
    wanted = running;
    if (!running) {
      state("off");
      return;
    }
    state("on");
    timer = setTimeout(tick, delay);
    delay = Math.min(MAX_DELAY_MS, delay * BACKOFF);
  }

  function onVisibility() {
    if (disposed) return;
    if (document.hidden) {
      if (timer) clearTimeout(timer);
      timer = null;
      if (wanted) state("paused");
    } else if (wanted && !timer) {
      loop += 1;
      delay = FIRST_DELAY_MS;
      tick();
    }
  }
  document.addEventListener("visibilitychange", onVisibility);

  return {
    /** Something may be running now (just rendered, or an action started one): poll from the start. */
    watch(running) {
      wanted = running;
      loop += 1;
      if (timer) clearTimeout(timer);
      timer = null;
      delay = FIRST_DELAY_MS;
      if (!running) state("off");
      else if (document.hidden) state("paused");
      else {
        state("on");
        timer = setTimeout(tick, delay);
        delay *= BACKOFF;
      }
    },
    dispose() {
      disposed = true;
      if (timer) clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
      state("off");
    },
  };
}
