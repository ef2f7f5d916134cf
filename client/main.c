int main(void) { return 1; }  /* placeholder: replaced by the client work */
