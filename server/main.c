int main(void) { return 1; }  /* placeholder: replaced by the net/main work */
