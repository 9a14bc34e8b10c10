"""Alpaca's Trading and Market Data APIs v2, served under /alpaca so that bots written for alpaca-py or
alpaca-trade-api run against Sherwood unchanged but for their URLs and key pair (CONTRACT.md, ALPACA-NOTES.md)."""
