print("practise")
