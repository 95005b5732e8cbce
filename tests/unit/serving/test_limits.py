"""serving/limits.py: requests within TF Serving's batch and message limits."""

from serving import limits


def test_batches_hold_at_most_the_batch_size_in_order():
    requests = limits.batches([1000] * 70, rest=False)
    assert [len(request) for request in requests] == [32, 32, 6]
    assert [index for request in requests for index in request] == list(range(70))


def test_batches_stay_within_the_message_size_and_rest_pays_base64():
    big = 10 * 1024 * 1024  # three of them fit one 32 MiB gRPC message, two base64-encoded
    assert limits.batches([big] * 4, rest=False) == [[0, 1, 2], [3]]
    assert limits.batches([big] * 4, rest=True) == [[0, 1], [2, 3]]
    assert limits.payload_bytes(3, rest=True) == 4 + limits.PER_FILE_BYTES


def test_a_file_larger_than_any_request_is_told_apart():
    budget = limits.MAX_MESSAGE_BYTES - limits.ENVELOPE_BYTES - limits.PER_FILE_BYTES
    assert limits.fits_one_request(budget, rest=False)
    assert not limits.fits_one_request(budget + 1, rest=False)
    assert not limits.fits_one_request(budget, rest=True)


def test_no_files_make_no_requests():
    assert limits.batches([], rest=False) == []
