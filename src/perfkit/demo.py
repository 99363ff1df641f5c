"""A synthetic group practice, deterministic by seed, shaped like a real EHR export.

The default practice has 12 clinicians over 12 months: four pre-licensed clinicians with
supervisors, one clinician who left (``C08``, in the quarter before the last), three who joined
in the export's first weeks and one who joined mid-year and builds a caseload slowly (``C06``),
weekly and alternate-week clients taken from a waiting list whenever a place opens (so each
clinician's utilization holds near their own level), holiday closures and a quieter Christmas
week, leave in every three months, each clinician's own no-show and note-lag habits, and small
planted clinician differences in outcome slopes (about 5% of the variance of change). In the
last quarter two things change on purpose, and nothing else is flagged differently from the
quarter before: ``C04``'s utilization and documentation slip, and ``C07`` takes on extra
clients, beyond the hours offered. Every
client gives PHQ-9 and GAD-7 scores unless they are in the ORS-only group; a trauma subset gives
PCL-5. Most PHQ-9 rows carry item scores (item 9 included), a few with one item missing and no
total, so the prorating rule is exercised. The export also carries client names, birth dates and
emails (all invented), as real exports do: ingest must drop them.

``demo_truth.json`` records what was planted (clinician slope effects, who slips, who is over
capacity, the hires and the slow one, who left, who is behind on supervision, and the flags that
change between the last two quarters) so tests and the models can check that they recover it.
Nothing here is real. :mod:`perfkit.demo_exports` writes this practice in the shapes of real
EHR exports (``perfkit demo --as NAME``).
"""

from __future__ import annotations

import datetime as dt
import heapq
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from .config import ReportConfig

__all__ = ["DemoSettings", "generate", "write_demo", "bundled_data_dir", "DEFAULT_SEED"]

DEFAULT_SEED = 20261101
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S"

_FIRST = ["Maya", "Jordan", "Priya", "Samuel", "Elena", "Marcus", "Aisha", "Daniel", "Grace",
          "Tomas", "Leah", "Owen", "Nadia", "Caleb", "Rosa", "Felix", "Hana", "Isaac", "Zoe",
          "Victor", "Imani", "Noah", "Clara", "Ravi"]
_LAST = ["Okafor", "Lindqvist", "Ramirez", "Chen", "Whitfield", "Haddad", "Novak", "Brennan",
         "Iyer", "Castillo", "Moreau", "Takahashi", "Abernathy", "Kowalski", "Mensah", "Duarte",
         "Fairbanks", "Sorensen", "Nakamura", "Oyelaran"]
# the sites of a demo practice larger than report.large_practice (a smaller one names none)
_SITES = ["North", "Riverside", "Central", "Eastgate", "Hillcrest", "Lakeside", "Westbrook",
          "Harbour"]
_CLIENT_FIRST = ["Avery", "Blake", "Casey", "Dakota", "Emerson", "Finley", "Harper", "Jamie",
                 "Kendall", "Logan", "Morgan", "Parker", "Quinn", "Reese", "Riley", "Rowan",
                 "Sage", "Skyler", "Taylor", "Wren"]
_CLIENT_LAST = ["Applewood", "Birchfield", "Cobblestone", "Dunmore", "Elmsworth", "Foxglove",
                "Greystone", "Hollowell", "Ironside", "Juniper", "Kettleby", "Larkspur",
                "Marchbanks", "Northcote", "Oakhurst", "Pennywhistle", "Quarrington", "Rookwood"]

_LICENSED = ["LCSW", "LPC", "LMFT", "PsyD"]
_PRE = [("ASW", "ca_asw_lcsw"), ("LPC-Associate", "tx_lpc_associate"),
        ("LPC-Resident", "va_lpc_residency")]

_GOALS = [
    "Complete training in trauma-focused CBT and use it with two clients",
    "Bring notes within 72 hours to at least 95% of sessions",
    "Introduce the PHQ-9 at every session with new clients",
    "Co-lead the weekly anxiety skills group",
    "Build confidence with family sessions through observed practice",
    "Present one case formulation at the monthly case conference",
]
_EVIDENCE = {
    "knowledge": ["Explained the rationale for exposure work clearly in a recorded session",
                  "Case conference formulation linked symptoms to a coherent model",
                  "Chose measures appropriate to the presenting problem in three reviewed files"],
    "skills": ["Observed session: agenda set collaboratively and reviewed at the end",
               "Responded to a rupture in the alliance by naming it and repairing it",
               "Used Socratic questioning rather than advice in the observed session"],
    "attitudes": ["Sought feedback on a difficult case before it was suggested",
                  "Reflected openly on a session that went poorly",
                  "Welcomed live observation and acted on the feedback"],
    "values": ["Raised a consent question about recording before starting",
               "Adapted materials for a client's language and culture",
               "Documented a risk discussion promptly and consulted as policy requires"],
}
_CE_TITLES = ["Suicide risk assessment and safety planning", "Ethics and boundaries in group "
              "practice", "Cognitive processing therapy: foundations", "Measurement-based care in "
              "routine practice", "Cultural humility in psychotherapy", "Telehealth law and "
              "ethics", "Motivational interviewing refresher", "Supervision skills for new "
              "supervisors"]

# instrument -> (intake mean, intake sd, clip low, clip high, mean slope/week, client slope sd,
#                clinician slope sd, residual sd, decimals)
_TRAJ = {
    "PHQ-9": (14.0, 5.0, 3, 27, -0.32, 0.22, 0.075, None, 0),
    "GAD-7": (12.0, 4.5, 2, 21, -0.26, 0.18, 0.06, 1.8, 0),
    "PCL-5": (46.0, 12.0, 10, 80, -0.80, 0.55, 0.20, 5.0, 0),
    "ORS": (19.0, 6.0, 2, 38, 0.38, 0.25, 0.09, 2.5, 1),
}
_RANGE = {"PHQ-9": (0, 27), "GAD-7": (0, 21), "PCL-5": (0, 80), "ORS": (0, 40)}
# PHQ-9 item propensities (item 9, thoughts of self-harm, is endorsed far less often)
_PHQ_ITEM_WEIGHT = np.array([1.15, 1.1, 1.2, 1.25, 1.0, 1.05, 1.0, 0.9, 0.15])
_PHQ_ITEM_WEIGHT = _PHQ_ITEM_WEIGHT * 9 / _PHQ_ITEM_WEIGHT.sum()
# role (clinician number modulo 12) -> weeks after the export window opens that they joined:
# the earlier hires the slow hire's ramp is compared with
_EARLY_HIRES = {8: 2, 9: 5, 10: 8}
OVER_CAPACITY_UTIL = 1.25  # the over-capacity clinician's utilization from the last quarter


def _monday(t: pd.Timestamp) -> dt.date:
    return (t - pd.Timedelta(days=t.weekday())).date()


@dataclass(frozen=True)
class DemoSettings:
    """Size and shape of the synthetic practice."""

    n_clinicians: int = 12
    months: int = 12
    seed: int = DEFAULT_SEED
    end: dt.date = dt.date(2026, 11, 1)  # the export is taken at midnight starting this day
    future_days: int = 35  # scheduled appointments after the export
    burn_in_weeks: int = 26  # clients already in treatment when the export window opens
    timezone: str = "America/Chicago"  # the practice's; appointment times are local to it


def _holidays(years) -> set[dt.date]:
    out = set()
    for y in years:
        may = [dt.date(y, 5, d) for d in range(25, 32)]
        sept = [dt.date(y, 9, d) for d in range(1, 8)]
        nov = [dt.date(y, 11, d) for d in range(22, 29)]
        thanks = next(d for d in nov if d.weekday() == 3)
        out |= {dt.date(y, 1, 1), next(d for d in may if d.weekday() == 0), dt.date(y, 7, 4),
                next(d for d in sept if d.weekday() == 0), thanks, thanks + dt.timedelta(1),
                dt.date(y, 12, 24), dt.date(y, 12, 25), dt.date(y, 12, 31)}
    return out


def _weekdays_block(rng, lo: dt.date, hi: dt.date, days: int) -> tuple[dt.date, dt.date]:
    span = (hi - lo).days - days - 7
    start = lo + dt.timedelta(int(rng.integers(0, max(span, 1))))
    return start, start + dt.timedelta(days - 1)


class _Practice:
    def __init__(self, s: DemoSettings):
        self.s = s
        self.tz = ZoneInfo(s.timezone)
        self.end = pd.Timestamp(s.end)
        self.export_utc = dt.datetime.combine(s.end, dt.time(), self.tz).astimezone(dt.UTC)
        self.start = self.end - pd.DateOffset(months=s.months)
        # the demo's reporting quarter; the quarter before it is the one compared with
        self.quarter = max(self.end - pd.DateOffset(months=3), self.start)
        self.sim_start = self.start - pd.Timedelta(weeks=s.burn_in_weeks)
        self.horizon = self.end + pd.Timedelta(days=s.future_days)
        self.holidays = _holidays(range(self.sim_start.year, self.horizon.year + 1))
        self.seeds = np.random.SeedSequence(s.seed).spawn(s.n_clinicians + 1)
        self.width = 2 if s.n_clinicians < 100 else 3
        self.next_client = 0
        rng = np.random.default_rng(self.seeds[-1])
        self.clin_z = rng.standard_normal(s.n_clinicians)  # planted clinician slope effects

    # ---- clinicians -------------------------------------------------------------------------
    def clinicians(self) -> pd.DataFrame:
        rows = []
        s = self.s
        licensed_ids = []
        for i in range(s.n_clinicians):
            rng = np.random.default_rng(self.seeds[i])
            cid = f"C{i + 1:0{self.width}d}"
            pre = i % 3 == 2
            role = i % 12
            start = (self.start - pd.Timedelta(days=int(rng.integers(200, 3000)))).date()
            end = None
            if pre:
                start = max(start, (self.start - pd.DateOffset(months=8)).date())
            if role == 5:  # joined mid-year (the slow hire)
                start = (self.start + pd.DateOffset(months=s.months // 2)).date()
            if role in _EARLY_HIRES:  # joined in the first weeks of the export window
                start = _monday(self.start + pd.Timedelta(weeks=_EARLY_HIRES[role]))
            if role == 7:  # left four months before the export
                end = (self.end - pd.DateOffset(months=4) - pd.Timedelta(days=1)).date()
            if pre:
                ltype, rule = _PRE[(i // 3) % len(_PRE)]
                sup = licensed_ids[(i // 3) % len(licensed_ids)]
            else:
                ltype, rule, sup = _LICENSED[i % len(_LICENSED)], "", ""
                licensed_ids.append(cid)
            cap = float(rng.choice([30, 30, 25, 25, 20, 15]))
            rows.append({
                "clinician_id": cid,
                "name": f"{_FIRST[i % len(_FIRST)]} {_LAST[(i * 7) % len(_LAST)]}",
                "license_status": "pre-licensed" if pre else "licensed",
                "license_type": ltype,
                "supervisor_id": sup,
                "start_date": start.isoformat(),
                "end_date": end.isoformat() if end else "",
                "weekly_capacity_hours": cap,
                "weekly_session_goal": int(round(cap)),  # a session per hour offered
                "licensure_rule": rule,
                # synthetic addresses for perfkit deliver; one clinician has none ("no
                # address on the roster": listed, never sent anyone else's files)
                "email": "" if role == 4 else _demo_email(i),
            })
        out = pd.DataFrame(rows)
        if s.n_clinicians > ReportConfig().large_practice:  # a larger practice has sites
            k = min(len(_SITES), max(4, s.n_clinicians // 25))
            out.insert(out.columns.get_loc("licensure_rule") + 1, "team",
                       [_SITES[(i * 5 + i // k) % k] for i in range(s.n_clinicians)])
        return out

    # ---- time off ---------------------------------------------------------------------------
    def time_off(self, clin: pd.DataFrame) -> pd.DataFrame:
        """One block of leave in every three months of the export window that the clinician
        worked whole (so any six months hold some, and no "no time off" prompt is planted)."""
        rows = []
        for i, c in clin.iterrows():
            rng = np.random.default_rng(self.seeds[i].spawn(1)[0])
            employed = pd.Timestamp(c.start_date)
            left = pd.Timestamp(c.end_date) if c.end_date else self.end
            lo = self.start
            while lo < self.end:
                hi = min(lo + pd.DateOffset(months=3), self.end)
                a, b = max(lo, employed), min(hi, left)
                if (b - a).days >= 45:
                    days = int(rng.choice([3, 5, 5, 8, 12]))
                    first, last = _weekdays_block(rng, a.date(), b.date(), days)
                    rows.append({"clinician_id": c.clinician_id,
                                 "start_date": first.isoformat(), "end_date": last.isoformat()})
                lo = hi
        return pd.DataFrame(rows, columns=["clinician_id", "start_date", "end_date"])

    # ---- appointments, notes, assessments ---------------------------------------------------
    def caseload(self, clin: pd.DataFrame, time_off: pd.DataFrame):
        appts, notes, scores = [], [], []
        truth_eff = {}
        for i, c in clin.iterrows():
            rng = np.random.default_rng(self.seeds[i].spawn(2)[1])
            off = set()
            for r in time_off[time_off.clinician_id == c.clinician_id].itertuples():
                off |= {d.date() for d in pd.date_range(r.start_date, r.end_date)}
            a, n, sc = self._clinician_cases(i, SimpleNamespace(**c.to_dict()), rng, off)
            appts += a
            notes += n
            scores += sc
            truth_eff[c.clinician_id] = {inst: round(float(self.clin_z[i] * p[6]), 4)
                                         for inst, p in _TRAJ.items()}
        appt_cols = ["appointment_id", "clinician_id", "client_id", "client_name", "client_dob",
                     "client_email", "start", "duration_minutes", "status", "service"]
        return (pd.DataFrame(appts, columns=appt_cols),
                pd.DataFrame(notes, columns=["appointment_id", "signed_at"]),
                self._assessment_frame(scores), truth_eff)

    def _clinician_cases(self, i, c, rng, off):
        """A clinician's clients, taken from a waiting list whenever the clinician's expected
        attended hours a week fall below their target (capacity x utilization): the way a
        practice fills openings, and what keeps a clinician's utilization near its target."""
        role = i % 12
        slipping = role == 3
        cap = c.weekly_capacity_hours
        p_ns, p_lc, p_cx = rng.uniform(0.02, 0.04), rng.uniform(0.01, 0.025), rng.uniform(.03, .07)
        lag_median = rng.uniform(3, 18)
        util = rng.uniform(0.74, 0.82)  # realized about 0.05 higher (intakes run longer)
        end, horizon = self.end.to_pydatetime(), self.horizon.to_pydatetime()
        c_start = max(dt.datetime.fromisoformat(c.start_date), self.sim_start.to_pydatetime())
        c_end = (dt.datetime.fromisoformat(c.end_date) + dt.timedelta(days=1) if c.end_date
                 else horizon)
        hired = dt.datetime.fromisoformat(c.start_date)
        # expected attended hours a week of one weekly client: attends, about 51 minutes
        per_week = (1 - p_ns - p_lc - p_cx) * 51 / 60
        appts, notes, scores = [], [], []
        # (last appointment, expected hours a week, alternate-week parity or -1 if weekly)
        active: list[tuple[dt.datetime, float, int]] = []
        load = 0.0
        fortnightly = [0, 0]  # clients seen every other week, by the parity of their week
        day = c_start
        while day < min(c_end, end):
            while active and active[0][0] < day:
                _, share, parity = heapq.heappop(active)
                load -= share
                if parity >= 0:
                    fortnightly[parity] -= 1
            if day.weekday() < 5 and day.date() not in self.holidays and day.date() not in off:
                target = cap * self._target(role, day, hired, util)
                for _ in range(3):  # at most three intake sessions a day
                    if load >= target:
                        break
                    interval = 7 if rng.random() < 0.6 else 14
                    first, parity = day, -1
                    if interval == 14:  # alternate-week clients fill the lighter week first
                        parity = (day - c_start).days // 7 % 2
                        if fortnightly[parity] > fortnightly[1 - parity]:
                            first, parity = day + dt.timedelta(days=7), 1 - parity
                        fortnightly[parity] += 1
                    a, n, sc, last = self._client(
                        i, c, rng, first, interval, c_end, off, slipping,
                        (p_ns, p_lc, p_cx, lag_median))
                    appts += a
                    notes += n
                    scores += sc
                    share = per_week * 7 / interval
                    heapq.heappush(active, (last, share, parity))
                    load += share
            day += dt.timedelta(days=1)
        return appts, notes, scores

    def _target(self, role: int, day: dt.datetime, hired: dt.datetime, util: float) -> float:
        """The share of capacity a clinician aims to fill on ``day``: new hires build up to
        their own ``util`` over 8 weeks (the slow hire over 40), the slipping clinician's
        falls through the last quarter, and the over-capacity clinician takes on extra
        clients from the last quarter's first day."""
        weeks_in = (day - hired).days / 7
        ramp = (min(1.0, 0.1 + 0.9 * weeks_in / 40) if role == 5
                else min(1.0, 0.4 + 0.6 * weeks_in / 8))
        if role == 3:
            ramp *= 1 - 0.85 * self._slip(day)
        if role == 6 and day >= self.quarter.to_pydatetime():
            return OVER_CAPACITY_UTIL
        return util * ramp

    def _slip(self, t: dt.datetime) -> float:
        """How far the slipping clinician has slipped: 0 before the last quarter, rising to 1
        at the export."""
        slip_from = self.quarter.to_pydatetime()
        span = (self.end.to_pydatetime() - slip_from).days
        return min(max((t - slip_from).days / span, 0.0), 1.0)

    def _client(self, i, c, rng, intake_day, interval, c_end, off, slipping, habits):
        p_ns, p_lc, p_cx, lag_median = habits
        self.next_client += 1
        k = self.next_client
        client_id = f"MRN{100000 + k * 7 + i}"
        first = _CLIENT_FIRST[int(rng.integers(len(_CLIENT_FIRST)))]
        last = _CLIENT_LAST[int(rng.integers(len(_CLIENT_LAST)))]
        dob = dt.date(1950, 1, 1) + dt.timedelta(int(rng.integers(0, 20000)))
        pii = (f"{first} {last}", dob.isoformat(), f"{first.lower()}.{last.lower()}{k}"
               "@example.com")
        planned = int(rng.integers(1, 4)) if rng.random() < 0.2 else \
            int(np.clip(np.round(rng.lognormal(np.log(11), 0.5)), 4, 40))
        hour = int(rng.integers(8, 19))
        # measurement plan
        ors_only = rng.random() < 0.15
        insts = ["ORS"] if ors_only else ["PHQ-9", "GAD-7"] + (["PCL-5"] if rng.random() < 0.2
                                                              else [])
        if not ors_only and rng.random() < 0.15:
            insts.append("ORS")
        every_other = rng.random() < 0.3
        severity = rng.standard_normal()  # shared across instruments
        client_slope = {inst: rng.standard_normal() * _TRAJ[inst][5] for inst in insts}
        appts, notes, scores = [], [], []
        attended, missed_run, n_sched = 0, 0, 0
        t = intake_day + dt.timedelta(hours=hour)
        last_t = t
        end, start = self.end.to_pydatetime(), self.start.to_pydatetime()
        stop = min(c_end, self.horizon.to_pydatetime())
        while attended < planned and t < stop:
            d = t.date()
            if t.weekday() < 5 and d not in self.holidays and d not in off:
                n_sched += 1
                last_t = t
                intake = attended == 0
                duration = 60 if intake else (53 if rng.random() < 0.7 else 45)
                service = "90791" if intake else ("90837" if duration == 53 else "90834")
                ramp = self._slip(t) if slipping else 0.0
                xmas = d.month == 12 and d.day >= 20 or d.month == 1 and d.day <= 3
                u = rng.random()
                ns, lc = p_ns + 0.12 * ramp, p_lc + 0.08 * ramp
                cx = p_cx * (3 if xmas else 1) + 0.12 * ramp
                if t >= end:
                    status = "scheduled"
                elif u < ns:
                    status = "no_show"
                elif u < ns + lc:
                    status = "late_cancel"
                elif u < ns + lc + cx:
                    status = "cancelled"
                else:
                    status = "attended"
                appt_id = f"A{k:06d}-{n_sched:02d}"
                if t >= start:
                    appts.append((appt_id, c.clinician_id, client_id, *pii,
                                  t.strftime(TIME_FORMAT), duration, status, service))
                if status == "attended":
                    attended += 1
                    missed_run = 0
                    # the practice's reminders get every note signed within five days, until
                    # the slipping clinician falls behind
                    lag = rng.lognormal(np.log(lag_median + 120 * ramp), 0.8)
                    lag = lag if ramp else min(lag, 120.0)
                    # EHRs stamp signatures in UTC: local session end + lag, as an instant
                    signed = (t.replace(tzinfo=self.tz).astimezone(dt.UTC)
                              + dt.timedelta(minutes=duration, hours=lag))
                    never = rng.random() < 0.08 * ramp
                    if t >= start:
                        notes.append((appt_id, "" if never or signed >= self.export_utc
                                      else signed.strftime(TIME_FORMAT) + "Z"))
                    measure = intake or not every_other or attended % 2 == 1
                    if measure and t >= start:
                        week = (t - intake_day).days / 7
                        for inst in insts:
                            if inst == "PCL-5" and not (intake or attended % 2 == 1):
                                continue
                            scores.append((client_id, c.clinician_id, inst, t, week, severity,
                                           client_slope[inst], i, rng.random(), rng.random()))
                elif status in ("no_show", "late_cancel"):
                    missed_run += 1
                    if missed_run >= 2 and rng.random() < 0.5:
                        break  # dropped out
            t += dt.timedelta(days=interval)
        return appts, notes, scores, last_t

    def _assessment_frame(self, scores) -> pd.DataFrame:
        cols = ["client_id", "clinician_id", "instrument", "at", "week", "severity", "cslope",
                "ci", "u1", "u2"]
        f = pd.DataFrame(scores, columns=cols)
        rng = np.random.default_rng(np.random.SeedSequence(self.s.seed).spawn(
            self.s.n_clinicians + 2)[-1])
        total = np.zeros(len(f))
        items = np.full((len(f), 9), np.nan)
        for inst, (m, sd, lo, hi, b, _csd, clin_sd, resid, dec) in _TRAJ.items():
            rows = (f.instrument == inst).to_numpy()
            if not rows.any():
                continue
            sub = f[rows]
            intake = np.clip(m + sd * sub.severity.to_numpy() * (-1 if inst == "ORS" else 1),
                             lo, hi)
            centred = (intake - m) / sd
            slope = b * (1 + 0.15 * centred * (-1 if inst == "ORS" else 1)) \
                + sub.cslope.to_numpy() + self.clin_z[sub.ci.to_numpy()] * clin_sd
            smin, smax = _RANGE[inst]
            expected = np.clip(intake + slope * sub.week.to_numpy(), smin, smax)
            if inst == "PHQ-9":
                p = np.clip(expected[:, None] / 27 * _PHQ_ITEM_WEIGHT[None, :], 0, 1)
                it = rng.binomial(3, p).astype(float)
                items[rows] = it
                total[rows] = it.sum(axis=1)
            else:
                val = expected + rng.standard_normal(rows.sum()) * resid
                total[rows] = np.clip(np.round(val, dec), smin, smax)
        f["total_score"] = total
        out = pd.DataFrame({
            "client_id": f.client_id,
            "clinician_id": np.where(f.u1 < 0.1, "", f.clinician_id),
            "instrument": f.instrument,
            "administered_at": (f["at"] - pd.to_timedelta(np.floor(f.u2 * 15), unit="m"))
            .dt.strftime(TIME_FORMAT),
            "total_score": f.total_score.map(lambda v: f"{v:g}"),
        })
        is_phq = (f.instrument == "PHQ-9").to_numpy()
        with_items = is_phq & (f.u2.to_numpy() < 0.75)
        item_text = np.char.mod("%d", np.nan_to_num(items).astype(int)).astype(object)
        item_text[np.isnan(items) | ~with_items[:, None]] = ""
        # a few item rows lose one item (never item 9) and their total: prorated at ingest
        lose = with_items & (f.u1.to_numpy() > 0.985)
        which = (f.u2.to_numpy() * 1000).astype(int) % 8
        item_text[lose, which[lose]] = ""
        tot = out["total_score"].to_numpy(dtype=object)
        tot[lose] = ""
        out["total_score"] = tot
        for j in range(9):
            out[f"item_{j + 1}"] = item_text[:, j]
        # PCOMS pairs the ORS with the Session Rating Scale at the end of the same session:
        # mostly a good alliance, with a few clients who rate it low
        ors = out[out["instrument"] == "ORS"]
        clients = pd.unique(ors["client_id"])
        level = pd.Series(rng.normal(37.6, 1.2, len(clients))
                          - 5 * (rng.random(len(clients)) < 0.08), index=clients)
        alliance = np.clip(np.round(ors["client_id"].map(level).to_numpy()
                                    + rng.normal(0, 0.5, len(ors)), 1), 0, 40)
        srs = ors.assign(instrument="SRS", total_score=[f"{v:g}" for v in alliance],
                         administered_at=(pd.to_datetime(ors["administered_at"])
                                          + pd.Timedelta(minutes=50)).dt.strftime(TIME_FORMAT))
        out = pd.concat([out, srs]).sort_index(kind="stable").reset_index(drop=True)
        return out

    # ---- supervision, goals, reviews, CE ----------------------------------------------------
    def supervision(self, clin: pd.DataFrame, time_off: pd.DataFrame) -> tuple[pd.DataFrame, str]:
        rows = []
        behind = ""
        pre = clin[clin.license_status == "pre-licensed"]
        for n, c in enumerate(pre.itertuples()):
            i = int(c.Index)
            rng = np.random.default_rng(self.seeds[i].spawn(3)[2])
            is_behind = n == 0
            if is_behind:
                behind = c.clinician_id
            off = set()
            for r in time_off[time_off.clinician_id == c.clinician_id].itertuples():
                off |= {d.date() for d in pd.date_range(r.start_date, r.end_date)}
            start = max(pd.Timestamp(c.start_date), self.start)
            stop = pd.Timestamp(c.end_date) if c.end_date else self.end
            weekday = int(rng.integers(0, 4))
            day = start + pd.Timedelta(days=(weekday - start.weekday()) % 7)
            while day < stop:
                late = (self.end - day).days < 183
                if is_behind and late and rng.random() < 0.6:
                    day += pd.Timedelta(weeks=1)  # the planted slip: supervision skipped
                    continue
                # a holiday or day off moves the meeting to the next free weekday of the week
                free = [d for d in (day + pd.Timedelta(days=k) for k in range(5 - day.weekday()))
                        if d.date() not in off and d.date() not in self.holidays and d < stop]
                if free:
                    d = free[0].date()
                    rows.append({"supervisee_id": c.clinician_id,
                                 "supervisor_id": c.supervisor_id, "date": d.isoformat(),
                                 "minutes": 60, "format": "individual"})
                    if len(free) > 1 and not (is_behind and late):
                        rows.append({"supervisee_id": c.clinician_id,
                                     "supervisor_id": c.supervisor_id,
                                     "date": free[1].date().isoformat(),
                                     "minutes": 120, "format": "group"})
                day += pd.Timedelta(weeks=1)
        rows += self.support(clin, time_off)
        return pd.DataFrame(rows, columns=["supervisee_id", "supervisor_id", "date", "minutes",
                                           "format"]), behind

    def support(self, clin: pd.DataFrame, time_off: pd.DataFrame) -> list[dict]:
        """A monthly peer case-consultation group of the licensed clinicians (90 minutes, the
        first Thursday, led by the longest-serving of them), and monthly mentoring of the
        newest licensed clinician by the same. Support, never supervision hours."""
        lic = clin[clin.license_status == "licensed"].sort_values("start_date", kind="stable")
        newest = lic.iloc[-1].clinician_id if len(lic) else None
        off = {(r.clinician_id, d.date()) for r in time_off.itertuples()
               for d in pd.date_range(r.start_date, r.end_date)}
        rows = []
        for month in pd.date_range(self.start, self.end, freq="MS"):
            day = month + pd.Timedelta(days=(3 - month.weekday()) % 7)  # the first Thursday
            if day.date() in self.holidays or day >= pd.Timestamp(self.end):
                continue
            here = [c.clinician_id for c in lic.itertuples()
                    if pd.Timestamp(c.start_date) <= day
                    and (not c.end_date or day < pd.Timestamp(c.end_date))]
            if len(here) < 2:
                continue
            lead = here[0]  # the longest-serving licensed clinician employed that day
            rows += [{"supervisee_id": c, "supervisor_id": lead, "date": day.date().isoformat(),
                      "minutes": 90, "format": "consultation"}
                     for c in here if (c, day.date()) not in off]
            if newest in here and newest != lead:
                rows.append({"supervisee_id": newest, "supervisor_id": lead,
                             "date": (day + pd.Timedelta(days=1)).date().isoformat(),
                             "minutes": 60, "format": "mentoring"})
        return rows

    def development(self, clin: pd.DataFrame):
        goals, reviews, ce = [], [], []
        for i, c in clin.iterrows():
            rng = np.random.default_rng(self.seeds[i].spawn(4)[3])
            base = max(pd.Timestamp(c.start_date), self.start)
            active = not c.end_date
            for g in range(int(rng.integers(2, 4))):
                set_on = min(base + pd.Timedelta(days=int(rng.integers(0, 120))),
                             self.end - pd.Timedelta(days=int(rng.integers(3, 30))))
                # most goals were looked at in the last two months; about one in five not since
                # well before (listed as overdue for review)
                ago = int(rng.integers(5, 60)) if rng.random() < 0.8 else int(rng.integers(100,
                                                                                         200))
                reviewed = max(self.end - pd.Timedelta(days=ago), set_on + pd.Timedelta(days=14))
                status = rng.choice(["open", "open", "met", "revised"])
                goals.append({
                    "clinician_id": c.clinician_id, "goal_id": f"G{g + 1}",
                    "description": _GOALS[(i + g) % len(_GOALS)],
                    "set_on": set_on.date().isoformat(),
                    "target_date": (set_on + pd.Timedelta(days=365)).date().isoformat(),
                    "status": status,
                    "reviewed_on": min(reviewed, self.end - pd.Timedelta(days=1)).date()
                    .isoformat() if active else "",
                })
            if c.license_status == "licensed":
                n_reviews = 2 if i % 2 == 0 else 1
                last = self.end - pd.Timedelta(days=int(rng.integers(20, 300)))
                if i % 12 == 4:
                    last = self.end - pd.Timedelta(days=430)  # review overdue
                for r in range(n_reviews):
                    when = last - pd.DateOffset(years=n_reviews - 1 - r)
                    for dom, texts in _EVIDENCE.items():
                        reviews.append({
                            "clinician_id": c.clinician_id, "review_date": when.date()
                            .isoformat(), "reviewer_id": "C01" if c.clinician_id != "C01"
                            else "OWNER", "domain": dom,
                            "rating": max(1, int(rng.integers(3, 6)) - int(r < n_reviews - 1)),
                            "evidence": texts[int(rng.integers(len(texts)))],
                        })
                # the practice's CE log reaches back two years; most clinicians keep pace
                for _ in range(int(rng.integers(4, 12))):
                    when = max(self.end - pd.Timedelta(days=int(rng.integers(1, 700))),
                               pd.Timestamp(c.start_date))
                    ce.append({"clinician_id": c.clinician_id,
                               "completed_on": min(when, self.end - pd.Timedelta(days=1))
                               .date().isoformat(),
                               "title": _CE_TITLES[int(rng.integers(len(_CE_TITLES)))],
                               "hours": float(rng.choice([1, 1.5, 2, 3, 6]))})
            elif active:  # associates: the yearly law and ethics course
                ce.append({"clinician_id": c.clinician_id,
                           "completed_on": (self.end - pd.Timedelta(
                               days=int(rng.integers(20, 200)))).date().isoformat(),
                           "title": "Law and ethics for associates", "hours": 3.0})
        return (pd.DataFrame(goals), pd.DataFrame(reviews), pd.DataFrame(ce))


def generate(settings: DemoSettings | None = None) -> tuple[dict[str, pd.DataFrame], dict]:
    """Generate the demo practice.

    Returns
    -------
    tables : dict of DataFrame
        One frame per input table, as text an EHR would export.
    truth : dict
        What was planted: clinician slope effects per instrument, the slipping clinician, the
        steady clinicians, the clinician behind on supervision, the over-capacity clinician,
        the hires (and the slow one), the leaver, the last two quarters and the flags newly
        set in the last.
    """
    s = settings or DemoSettings()
    p = _Practice(s)
    clin = p.clinicians()
    time_off = p.time_off(clin)
    appts, notes, assess, effects = p.caseload(clin, time_off)
    supervision, behind = p.supervision(clin, time_off)
    goals, reviews, ce = p.development(clin)
    role = {c: i % 12 for i, c in enumerate(clin.clinician_id)}
    truth = {
        "settings": {"n_clinicians": s.n_clinicians, "months": s.months, "seed": s.seed,
                     "end": s.end.isoformat()},
        "export_window": [p.start.date().isoformat(), s.end.isoformat()],
        "slipping_clinicians": [c for c, r in role.items() if r == 3],
        "joined_midyear": [c for c, r in role.items() if r == 5],
        "left": [c for c, r in role.items() if r == 7],
        "steady_clinicians": [c for c, r in role.items() if r in (0, 1)],
        "behind_on_supervision": behind,
        "over_capacity": [c for c, r in role.items() if r == 6],
        "earlier_hires": [c for c, r in role.items() if r in _EARLY_HIRES],
        "slow_hires": [c for c, r in role.items() if r == 5],
        "quarters": {"previous": [(p.quarter - pd.DateOffset(months=3)).date().isoformat(),
                                  p.quarter.date().isoformat()],
                     "last": [p.quarter.date().isoformat(), s.end.isoformat()]},
        # the flags of clinician_metrics.csv newly set in the last quarter (none cleared)
        "newly_flagged": {
            **{c: ["flag_low_utilization", "flag_high_non_attendance", "flag_late_notes",
                   "flag_unsigned_overdue"] for c, r in role.items() if r == 3},
            **{c: ["over_capacity", "flag_over_goal"] for c, r in role.items() if r == 6}},
        "clinician_slope_effects": effects,
        "note": "Synthetic data. Slope effects are per-week deviations in score points.",
    }
    tables = {"clinicians": clin, "appointments": appts, "notes": notes, "assessments": assess,
              "time_off": time_off, "supervision": supervision, "goals": goals,
              "reviews": reviews, "ce": ce}
    return tables, truth


def write_demo(out_dir: str | Path, settings: DemoSettings | None = None) -> Path:
    """Write the demo practice as CSV files plus ``demo_truth.json`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tables, truth = generate(settings)
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    (out / "demo_truth.json").write_text(json.dumps(truth, indent=2) + "\n", encoding="utf-8")
    return out


def _demo_email(i: int) -> str:
    """The demo's clinician ``i`` at the reserved domain example.org (RFC 2606): never a real
    mailbox."""
    first, last = _FIRST[i % len(_FIRST)], _LAST[(i * 7) % len(_LAST)]
    return f"{first}.{last}@example.org".lower()


def bundled_data_dir() -> Path:
    """The demo practice that ships inside the package (the default settings' output)."""
    return Path(str(resources.files("perfkit") / "demo_data"))
