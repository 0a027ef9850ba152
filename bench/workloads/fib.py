"""Recursion and calls: naive Fibonacci."""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def bench():
    return fib(25)
