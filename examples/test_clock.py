import datetime

from clock import TimeHandler


def test_time_answers_with_the_utc_clock(classicnet_server, classicnet_client):
    client = classicnet_client(classicnet_server(TimeHandler, utc=True), "udp")
    answer = client.request(b"what time is it?")
    assert datetime.datetime.fromisoformat(answer.decode().strip()).utcoffset() == datetime.timedelta(0)
