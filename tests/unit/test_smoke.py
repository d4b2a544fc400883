from zhifu.money import parse_amount


def test_parse_amount_pads_to_two_places():
    assert str(parse_amount("12.3")) == "12.30"
