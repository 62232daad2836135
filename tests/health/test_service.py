import subprocess
import sys
import time

from nous.health import service


def test_cpu_reading_reflects_the_load_now_even_as_a_first_reading(monkeypatch) -> None:
    busy_loop = "import time\nend = time.time() + 3\nwhile time.time() < end: pass"
    burner = subprocess.Popen([sys.executable, "-c", busy_loop])
    try:
        time.sleep(0.3)
        monkeypatch.setattr(service, "_cpu_read_at", 0.0)  # no previous reading in this process
        first = service.cpu_percent()
        time.sleep(0.6)
        second = service.cpu_percent()  # since the first one
    finally:
        burner.kill()
        burner.wait()
    # One of the two cores is busy the whole time: at least ~50 %, minus scheduling slack.
    assert first >= 30 and second >= 30, (first, second)
