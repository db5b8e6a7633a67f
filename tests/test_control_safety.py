"""The daemon applies the SoC window and the ramp limit before it writes: checked in the simulator's registers."""

from __future__ import annotations

import pandas as pd
import pytest
from daemon_rig import stepped_daemon

BATTERY = "bess_park"


async def _override(run, p_kw: float) -> None:
    """Hold ``p_kw`` for two hours, as ``POST /api/override`` does (written at once and at every tick)."""
    until = run.clock.now() + pd.Timedelta(hours=2)
    await run.daemon.set_override(BATTERY, p_kw, until.to_pydatetime())


def _wset_kw(run) -> float:
    """The battery's commanded power in the simulator, load-referenced kW (SunSpec WSet: + = discharging)."""
    return -run.sim[BATTERY].get(704, "WSet") / 1000


async def test_battery_at_its_soc_floor_is_not_told_to_discharge(demo_district, tmp_path):
    async with stepped_daemon(demo_district, tmp_path, plan=False, ramp_pct_per_s=1000.0) as run:
        unit = run.sim[BATTERY]
        unit.e_kwh = unit.e_min_kwh  # empty down to its SoC floor
        cfg = next(b for b in demo_district.config.assets.battery if b.id == BATTERY)
        await run.daemon.poll()
        assert run.daemon.controller.state[BATTERY].telemetry.soc_kwh == pytest.approx(cfg.soc_min_kwh, abs=1.0)
        await _override(run, -800.0)
        await run.next_interval()
        assert _wset_kw(run) == 0.0  # a discharge request at the floor is written as 0 kW
        row = run.setpoints().query("asset_id == @BATTERY").iloc[-1]
        assert (row.requested_kw, row.written_kw, row.ok) == (-800.0, 0.0, True)
        await _override(run, 600.0)  # charging is still allowed at the floor
        await run.next_interval()
        assert _wset_kw(run) == pytest.approx(600.0, abs=1.0)


async def test_battery_at_its_soc_ceiling_is_not_told_to_charge(demo_district, tmp_path):
    async with stepped_daemon(demo_district, tmp_path, plan=False, ramp_pct_per_s=1000.0) as run:
        unit = run.sim[BATTERY]
        unit.e_kwh = unit.e_max_kwh
        await run.daemon.poll()
        await _override(run, 900.0)
        await run.next_interval()
        assert _wset_kw(run) == 0.0
        await _override(run, -700.0)
        await run.next_interval()
        assert _wset_kw(run) == pytest.approx(-700.0, abs=1.0)


async def test_setpoint_changes_follow_the_ramp_limit(demo_district, tmp_path):
    # ramp 0.01 %/s of the 2000 kW rating = 0.2 kW per second of the daemon clock: 180 kW per
    # 15-min interval, so a jump from 0 to -1500 kW takes several intervals
    async with stepped_daemon(demo_district, tmp_path, plan=False, ramp_pct_per_s=0.01) as run:
        rated = next(b for b in demo_district.config.assets.battery if b.id == BATTERY).p_max_kw
        assert rated == 2000.0
        await run.daemon.poll()
        await _override(run, 0.0)
        await run.next_interval()
        assert _wset_kw(run) == 0.0
        await _override(run, -1500.0)
        written = []
        for _ in range(3):
            await run.next_interval()
            written.append(_wset_kw(run))
        assert written == pytest.approx([-180.0, -360.0, -540.0], abs=1.0)
        # 60 s later a write may move 12 kW further, not more
        run.step(60.0)
        await run.daemon.controller.apply(run.daemon.current_interval(), {BATTERY: (-1500.0, "override")})
        assert _wset_kw(run) == pytest.approx(-552.0, abs=1.0)
        # and the way back is ramped as well
        run.step(30.0)
        await run.daemon.controller.apply(run.daemon.current_interval(), {BATTERY: (1000.0, "override")})
        assert _wset_kw(run) == pytest.approx(-546.0, abs=1.0)
