"""Docker HostConfig -> cgroup values: checks with Docker's messages, and v2 unit conversions."""
import pytest

from engine.cgroups.limits import (blkio_to_io_weight, limits_from_hostconfig, parse_cpuset,
                                   shares_to_weight, v2_cpu_max, v2_swap_max)
from engine.errors import InvalidArgument

MiB = 1024 * 1024


@pytest.mark.parametrize("hc,field,value", [
    ({"Memory": 64 * MiB}, "memory", 64 * MiB),
    ({"Memory": 64 * MiB}, "memory_swap", 128 * MiB),          # swap defaults to memory again
    ({"Memory": 64 * MiB, "MemorySwap": -1}, "memory_swap", -1),
    ({"Memory": 64 * MiB, "MemorySwap": 64 * MiB}, "memory_swap", 64 * MiB),
    ({"MemoryReservation": 32 * MiB}, "memory_reservation", 32 * MiB),
    ({"NanoCpus": 500_000_000}, "cpu_quota", 50_000),
    ({"NanoCpus": 1_500_000_000}, "cpu_period", 100_000),
    ({"CpuQuota": 20_000, "CpuPeriod": 50_000}, "cpu_quota", 20_000),
    ({"CpuShares": 512}, "cpu_shares", 512),
    ({"CpuShares": 1}, "cpu_shares", 2),
    ({"CpusetCpus": "0-1"}, "cpuset_cpus", "0-1"),
    ({"PidsLimit": 20}, "pids_limit", 20),
    ({"PidsLimit": -1}, "pids_limit", None),
    ({"BlkioWeight": 300}, "blkio_weight", 300),
    ({"Privileged": True}, "allow_all_devices", True),
])
def test_conversion_table(hc, field, value):
    assert getattr(limits_from_hostconfig(hc, host_cpus=2), field) == value


@pytest.mark.parametrize("hc,message", [
    ({"Memory": 1024}, "Minimum memory limit allowed is 6MB"),
    ({"Memory": 64 * MiB, "MemorySwap": 32 * MiB}, "Minimum memoryswap limit should be larger than memory limit"),
    ({"MemorySwap": 64 * MiB}, "You should always set the Memory limit when using Memoryswap limit"),
    ({"Memory": 64 * MiB, "MemoryReservation": 128 * MiB}, "can not be less than memory reservation"),
    ({"NanoCpus": 3_000_000_000}, "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"),
    ({"NanoCpus": 1, "CpuPeriod": 1000}, "Nano CPUs and CPU Period cannot both be set"),
    ({"CpuQuota": 10}, "CPU cfs quota can not be less than 1ms"),
    ({"CpusetCpus": "0-5"}, "Requested CPUs are not available - requested 0-5, available: 0,1"),
    ({"CpusetCpus": "a-b"}, "invalid cpuset"),
    ({"BlkioWeight": 5}, "Range of blkio weight is from 10 to 1000"),
])
def test_refusals_use_dockers_words(hc, message):
    with pytest.raises(InvalidArgument, match=message):
        limits_from_hostconfig(hc, host_cpus=2)


def test_cpuset_parsing():
    assert parse_cpuset("0-2,4") == {0, 1, 2, 4}


@pytest.mark.parametrize("shares,weight", [(2, 1), (1024, 39), (262144, 10000), (0, 100)])
def test_shares_to_weight_matches_runc(shares, weight):
    assert shares_to_weight(shares) == weight


def test_v2_values():
    assert blkio_to_io_weight(10) == 1 and blkio_to_io_weight(1000) == 10000
    assert v2_cpu_max(50_000, 100_000) == "50000 100000"
    assert v2_cpu_max(None, 50_000) == "max 50000"
    assert v2_cpu_max(None, None) is None
    assert v2_swap_max(64 * MiB, 128 * MiB) == str(64 * MiB)
    assert v2_swap_max(64 * MiB, -1) == "max"
    assert v2_swap_max(None, None) is None
