// The PRACTISE method lives here.
