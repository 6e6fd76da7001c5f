"""Neural models: the speech-enhancement front-end (stft, se_crn, se_cmgan) and the SER nets."""
