"""The application journey: questions, check answers, declaration, confirmation."""
