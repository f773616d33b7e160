// How dates, sizes, durations and statuses read on the page.

const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const NUMBER = new Intl.NumberFormat();

export function date(iso) {
  return iso ? DATE.format(new Date(iso)) : "—";
}

export function number(n) {
  return NUMBER.format(n);
}

export function bytes(n) {
  if (n === null || n === undefined) return "—";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** "3 days 4 hours", "12 min 5 s", "40 s": the two largest units of a duration. */
export function duration(ms) {
  let seconds = Math.max(0, Math.round(ms / 1000));
  const parts = [];
  for (const [size, one, many] of [
    [86400, "day", "days"],
    [3600, "hour", "hours"],
    [60, "min", "min"],
    [1, "s", "s"],
  ]) {
    const count = Math.floor(seconds / size);
    seconds -= count * size;
    if (count || (parts.length === 0 && size === 1)) parts.push(`${count} ${count === 1 ? one : many}`);
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}

export function expiry(iso, now = Date.now()) {
  if (!iso) return "—";
  const left = new Date(iso).getTime() - now;
  return left > 0 ? `in ${duration(left)}` : "expired";
}

export const STATUS_LABEL = {
  pending: "Queued",
  processing: "Running",
  completed: "Completed",
  failed: "Failed",
  expired: "Expired",
  // an applications export's own statuses
  running: "Running",
  complete: "Complete",
  partial: "Partial",
};

export function isRunning(status) {
  return status === "pending" || status === "processing";
}

/**
 * Elements with data-countdown="<iso>" show the time left until then; one timer for the page.
 * data-countdown-done is the text once it has passed.
 */
export function startCountdowns() {
  const tick = () => {
    const now = Date.now();
    for (const el of document.querySelectorAll("[data-countdown]")) {
      const left = new Date(el.dataset.countdown).getTime() - now;
      el.textContent = left > 0 ? `in ${duration(left)}` : el.dataset.countdownDone || "now";
    }
  };
  tick();
  return setInterval(tick, 1000);
}
