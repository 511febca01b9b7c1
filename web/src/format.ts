// Formatting of times, dates and sizes for people, in their own locale.

import { signal } from "@preact/signals";

/** The current time, updated every 30 s so that relative times move on. */
export const now = signal(Date.now());
setInterval(() => (now.value = Date.now()), 30_000);

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const weekdayFmt = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const longWeekdayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long" });
const shortDateFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short" });
const shortDateYearFmt = new Intl.DateTimeFormat(undefined, { day: "numeric", month: "short", year: "numeric" });
const dayFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long" });
const dayYearFmt = new Intl.DateTimeFormat(undefined, { weekday: "long", day: "numeric", month: "long", year: "numeric" });
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

function startOfDay(t: number): number {
  const d = new Date(t);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Whole calendar days from t to ref (0 today, 1 yesterday). */
function daysAgo(t: number, ref: number): number {
  return Math.round((startOfDay(ref) - startOfDay(t)) / 86_400_000);
}

/** A time of day: "14:03". */
export function clock(iso: string): string {
  return timeFmt.format(new Date(iso));
}

/** The full date and time, for tooltips. */
export function fullDate(iso: string): string {
  return fullFmt.format(new Date(iso));
}

/** A short relative time for lists: "now", "5 min", "14:03", "Yesterday", "Mon", "3 Mar". */
export function relative(iso: string, ref = now.value): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const diff = ref - t;
  if (diff < 60_000) return "now";
  if (diff < 3_600_000) return `${Math.floor(diff / 60_000)} min`;
  const days = daysAgo(t, ref);
  if (days <= 0) return timeFmt.format(t);
  if (days === 1) return "Yesterday";
  if (days < 7) return weekdayFmt.format(t);
  if (new Date(t).getFullYear() === new Date(ref).getFullYear()) return shortDateFmt.format(t);
  return shortDateYearFmt.format(t);
}

/** The label of a day separator: "Today", "Yesterday", "Monday", "Monday, 3 March". */
export function dayLabel(iso: string, ref = now.value): string {
  const t = Date.parse(iso);
  const days = daysAgo(t, ref);
  if (days <= 0) return "Today";
  if (days === 1) return "Yesterday";
  if (days < 7) return longWeekdayFmt.format(t);
  if (new Date(t).getFullYear() === new Date(ref).getFullYear()) return dayFmt.format(t);
  return dayYearFmt.format(t);
}

/** Whether two times fall on the same calendar day. */
export function sameDay(a: string, b: string): boolean {
  return startOfDay(Date.parse(a)) === startOfDay(Date.parse(b));
}

/** A file size: "932 bytes", "14 KB", "2.4 MB". */
export function size(n: number): string {
  if (n < 1000) return `${n} ${n === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB"];
  let v = n / 1000;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** Initials of a name for avatars: "Avery Brooks" → "AB". */
export function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return "?";
  const first = words[0]!.charAt(0);
  const last = words.length > 1 ? words[words.length - 1]!.charAt(0) : "";
  return (first + last).toUpperCase();
}
