print("salabel")
