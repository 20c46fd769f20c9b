"""Details found in messages fill article placeholders."""

from __future__ import annotations

import pytest

from assistant.understanding.entities import extract

TX = "0x" + "3f" * 32


def test_evm_hash_amount_and_chain():
    e = extract(f"sent 500 USDT on BSC, hash {TX}, still not there")
    assert (e.chain, e.tx_hash, e.amount, e.token) == ("BNB Smart Chain", TX, "500 USDT", "USDT")


def test_chinese_chain_names_and_u_for_usdt():
    e = extract("波场转了100u没到账")
    assert (e.chain, e.amount, e.token) == ("TRON", "100 USDT", "USDT")


def test_tron_address_implies_tron():
    e = extract("send to TJRabPrwbZy45sbavfcjinPJC18kjpRTv8 please")
    assert e.address == "TJRabPrwbZy45sbavfcjinPJC18kjpRTv8" and e.chain == "TRON"


def test_evm_address_is_not_a_hash():
    addr = "0x" + "1" * 40
    e = extract(f"to {addr}")
    assert e.address == addr and e.tx_hash is None


def test_durations_are_not_amounts():
    assert extract("waited 2 hours for 3 days").amount is None


def test_nothing_found():
    assert extract("hello").as_dict() == {}


@pytest.mark.parametrize("text", ["提U到TP怎么没到账", "TP钱包收不到USDT", "my TP wallet shows 0",
                                  "tp钱包转不出去"])
def test_the_wallet_s_own_name_is_never_a_token(text):
    assert extract(text).token in (None, "USDT")
